/**
 * Key-value port over Redis (Upstash REST in production, the local bridge in development).
 * Values are strings, returned exactly as stored (no JSON coercion: the adapter disables
 * `@upstash/redis` automatic deserialization, which would turn `"012345"`-like strings into numbers).
 * These primitives are distributed-safe: one-time tokens, revocation, attempt counters and
 * idempotency marks stand on them. Times are seconds. Every method throws on transport failure;
 * callers decide whether to fail open or closed.
 */
/**
 * What a {@link Kv} adapter throws when Redis cannot be used for a call: a transport error, a
 * timeout, or an error reply (the cause says which; it is for the log only). The HTTP layer answers
 * it with 503 `service_unavailable` and `Retry-After` on every route (DESIGN.md §9: a Redis outage
 * is never a 500), unless the caller chose to fail open and caught it.
 */
export class KvUnavailableError extends Error {
  override readonly name = "KvUnavailableError";
  /** @param operation the Kv method that failed, e.g. `getdel`. */
  constructor(
    readonly operation: string,
    options: { cause: unknown },
  ) {
    super(`Redis ${operation} failed`, options);
  }
}

/** A Lua script for {@link Kv.evalScript}: its source, sent once, then called by its SHA-1. */
export interface KvScript {
  readonly source: string;
}

export interface Kv {
  /** GET; `null` when absent. */
  get(key: string): Promise<string | null>;
  /** MGET in one round trip; one entry per key, `null` when absent. */
  mget(keys: string[]): Promise<(string | null)[]>;
  /** SET with optional TTL (seconds) and NX. Returns `false` only when `nx` is set and the key existed. */
  set(key: string, value: string, options?: { ttlSeconds?: number; nx?: boolean }): Promise<boolean>;
  /**
   * SET NX GET with a TTL (seconds), one atomic command: stores `value` when `key` is absent and
   * returns `null`; otherwise changes nothing and returns the value present. A claim and a read of
   * the current state in one step (e.g. "take the send lock unless it is held or already done").
   */
  setNxGet(key: string, value: string, ttlSeconds: number): Promise<string | null>;
  /** GETDEL: atomically reads and removes (single-use consumption). `null` when absent. */
  getdel(key: string): Promise<string | null>;
  /** DEL of several keys; returns how many existed. */
  del(...keys: string[]): Promise<number>;
  /** INCR, setting the TTL (seconds) when the key is created; returns the new value. Atomic. */
  incr(key: string, ttlSeconds: number): Promise<number>;
  /** Reads the given bit offsets of a bitmap in one command (Bloom filter probe). */
  getBits(key: string, offsets: number[]): Promise<boolean[]>;
  /** Sets the given bit offsets to 1 in one command (Bloom filter insert). */
  setBits(key: string, offsets: number[]): Promise<void>;
  /**
   * BITCOUNT: how many bits of the bitmap are 1 (0 when the key is absent). Optional: only
   * Bloom-filter statistics use it, and they report `null` without it.
   */
  bitCount?(key: string): Promise<number>;
  /**
   * RENAME: atomically makes `to` hold `from`'s value (replacing any old value, TTL included) and
   * removes `from`; readers of `to` see the old or the new value, never a mix. Throws when `from`
   * is absent. Optional: only the Bloom-filter rebuild uses it.
   */
  rename?(from: string, to: string): Promise<void>;
  /**
   * Runs a Lua script (EVALSHA, falling back to EVAL when the server does not know it yet) in one
   * command and one round trip: what lets one request's several reads and counters cost one call.
   * The script must name every key it touches in `keys`. Replies come back as Redis returns them
   * (integers, strings, nested arrays; a Lua `false` as `null`).
   */
  evalScript(script: KvScript, keys: string[], args: (string | number)[]): Promise<unknown>;
  /** Liveness probe (PING). */
  ping(): Promise<void>;
}
