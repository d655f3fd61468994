import { Redis, type Requester } from "@upstash/redis";
import { type Kv, KvUnavailableError } from "../ports/kv";

/**
 * Builds the `@upstash/redis` REST client used by the {@link Kv} adapter and by `@upstash/ratelimit`,
 * over the client's own `fetch` transport (Web APIs only: runs on any runtime).
 *
 * - `automaticDeserialization: false`: values come back exactly as stored (the default would turn
 *   the string `"123456"` into the number 123456; see notes/protocols.md §1).
 * - `signal` is a FUNCTION returning a fresh timeout signal per request: with a function the client
 *   throws on timeout, whereas a static signal makes it return a fake `"Aborted"` success.
 * - One retry on network errors only (the default 5 retries take ~4.3 s against a dead server).
 *
 * Node functions use {@link upstashRedisOver} with the Node transport instead (`upstash-node-transport.ts`).
 *
 * @param options.timeoutMs per-request timeout in milliseconds.
 */
export function createUpstashRedis(options: { url: string; token: string; timeoutMs: number }): Redis {
  return new Redis({
    url: options.url,
    token: options.token,
    automaticDeserialization: false,
    enableTelemetry: false,
    retry: { retries: 1, backoff: () => 50 },
    signal: () => AbortSignal.timeout(options.timeoutMs),
  });
}

/**
 * `@upstash/redis` over a custom {@link Requester} (the client's documented extension point),
 * configured as {@link createUpstashRedis} configures its own: the requester-only constructor
 * skips the client's options, so they are set here, through the members the client declares for
 * subclasses.
 * - `automaticDeserialization: false`: values come back exactly as stored.
 * - Auto-pipelining on (the client's default): commands issued in the same tick share one HTTP
 *   round trip.
 * - No telemetry headers.
 */
class RequesterRedis extends Redis {
  constructor(requester: Requester) {
    super(requester);
    this.opts = { automaticDeserialization: false };
    this.enableTelemetry = false;
    this.enableAutoPipelining = true;
    // biome-ignore lint/correctness/noConstructorReturn: the client's own constructor returns its auto-pipelining proxy the same way
    return this.autoPipeline() as RequesterRedis;
  }
}

/**
 * The same client as {@link createUpstashRedis}, speaking through `requester` (e.g. the Node
 * transport of `upstash-node-transport.ts`). Commands, scripts, pipelines and auto-pipelining stay
 * the client's own.
 */
export function upstashRedisOver(requester: Requester): Redis {
  return new RequesterRedis(requester);
}

// Bitmaps are read and written with one script call each, so a Bloom-filter probe or insert of
// k bits is one command on the wire (one round trip, batched by auto-pipelining with whatever else
// is sent in the same tick) and two in Redis (the script and ONE BITFIELD for up to 1000 offsets),
// instead of k GETBIT/SETBIT. BITFIELD itself cannot be sent through the client: its builder is
// broken under auto-pipelining (notes/protocols.md §1). A BITFIELD of only GETs does not create a
// missing key; it reads it as all zeros, as GETBIT does. The argument list is cut into parts so
// `unpack` stays far below Lua's stack limit (about 8000 values).
const GET_BITS = `local r, n, a, m = {}, 0, {}, 0
for i = 1, #ARGV do
  a[m + 1] = 'GET'; a[m + 2] = 'u1'; a[m + 3] = ARGV[i]; m = m + 3
  if m >= 3000 or i == #ARGV then
    for _, b in ipairs(redis.call('BITFIELD', KEYS[1], unpack(a, 1, m))) do n = n + 1; r[n] = b end
    m = 0
  end
end
return r`;
const SET_BITS = `local a, m = {}, 0
for i = 1, #ARGV do
  a[m + 1] = 'SET'; a[m + 2] = 'u1'; a[m + 3] = ARGV[i]; a[m + 4] = 1; m = m + 4
  if m >= 4000 or i == #ARGV then redis.call('BITFIELD', KEYS[1], unpack(a, 1, m)); m = 0 end
end
return #ARGV`;

/**
 * The {@link Kv} port over Upstash Redis. Every method is one HTTP round trip (auto-pipelining may
 * batch concurrent calls into one). Every failure (network, timeout, Redis error reply) is thrown
 * as a {@link KvUnavailableError} with the original as `cause`, which the HTTP layer answers with
 * 503 `service_unavailable` (issue #14 item 5, F8).
 */
export function createUpstashKv(redis: Redis): Kv {
  const kv = createRawUpstashKv(redis);
  const guarded = {} as Record<string, unknown>;
  for (const [name, method] of Object.entries(kv) as [string, (...args: unknown[]) => Promise<unknown>][]) {
    guarded[name] = async (...args: unknown[]) => {
      try {
        return await method(...args);
      } catch (cause) {
        throw new KvUnavailableError(name, { cause });
      }
    };
  }
  return guarded as unknown as Kv;
}

function createRawUpstashKv(redis: Redis): Kv {
  const getBits = redis.createScript<number[]>(GET_BITS);
  const setBits = redis.createScript<number>(SET_BITS);
  const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  const scripts = new Map<string, ReturnType<Redis["createScript"]>>();
  return {
    async get(key) {
      return str(await redis.get(key));
    },
    async mget(keys) {
      if (keys.length === 0) return [];
      const values = await redis.mget<unknown[]>(...keys);
      return values.map(str);
    },
    async set(key, value, options = {}) {
      const { ttlSeconds, nx } = options;
      const result =
        ttlSeconds !== undefined
          ? nx
            ? await redis.set(key, value, { ex: ttlSeconds, nx: true })
            : await redis.set(key, value, { ex: ttlSeconds })
          : nx
            ? await redis.set(key, value, { nx: true })
            : await redis.set(key, value);
      return result !== null;
    },
    async setNxGet(key, value, ttlSeconds) {
      // SET … NX GET (Redis ≥ 7.0): the reply is the old value, or nil when this call stored it.
      return str(await redis.set(key, value, { nx: true, get: true, ex: ttlSeconds }));
    },
    async getdel(key) {
      return str(await redis.getdel(key));
    },
    async del(...keys) {
      return keys.length === 0 ? 0 : await redis.del(...keys);
    },
    async incr(key, ttlSeconds) {
      // One transaction: the TTL is set with the first increment so a crash cannot leave an immortal counter.
      const tx = redis.multi();
      tx.incr(key);
      tx.expire(key, ttlSeconds, "NX");
      const [value] = (await tx.exec()) as [number, number];
      return Number(value);
    },
    async getBits(key, offsets) {
      if (offsets.length === 0) return [];
      const bits = await getBits.exec([key], offsets.map(String));
      return bits.map((b) => Number(b) === 1);
    },
    async setBits(key, offsets) {
      if (offsets.length > 0) await setBits.exec([key], offsets.map(String));
    },
    async bitCount(key) {
      // Byte range 0..-1 is the whole string; the client's typings only accept the ranged form.
      return Number(await redis.bitcount(key, 0, -1));
    },
    async rename(from, to) {
      await redis.rename(from, to);
    },
    async evalScript(script, keys, args) {
      let compiled = scripts.get(script.source);
      if (!compiled) {
        compiled = redis.createScript(script.source);
        scripts.set(script.source, compiled);
      }
      // Script.exec: EVALSHA, and EVAL once on NOSCRIPT (a new server or a flushed script cache).
      return compiled.exec(keys, args.map(String));
    },
    async ping() {
      const pong = await redis.ping();
      if (pong !== "PONG") throw new Error("Redis ping failed");
    },
  };
}
