/**
 * A local Upstash-REST endpoint in front of a plain Redis, so the real `@upstash/redis` and
 * `@upstash/ratelimit` clients run unchanged in development and tests.
 *
 * Wire protocol (see /work/shared/notes/protocols.md §1): every request is a `POST` with a JSON
 * body and `Authorization: Bearer <token>`.
 * - `POST /`            body `["set","k","v"]`            → 200 `{result}` | 400 `{error}`
 * - `POST /pipeline`    body `[["set","k","v"],["incr","n"]]` → 200 `[{result}|{error}, ...]`
 * - `POST /multi-exec`  same body, run atomically (MULTI/EXEC) → 200 `[{result}|{error}, ...]`;
 *                       a queue-time error aborts the whole transaction → 400 `{error:"EXECABORT ..."}`
 * - wrong or missing token → 401 `{"error":"Unauthorized"}`; a malformed body → 400 `{error}`.
 * With `Upstash-Encoding: base64` every string at every depth is base64 of the exact reply bytes;
 * without it strings are UTF-8. Integers and nil pass through as JSON numbers and `null`.
 *
 * Upstash-only behaviour emulated here: ratelimit's Lua scripts start with
 * `#!lua flags=allow-key-locking`, a flag stock Redis 7 rejects. The bridge strips it and keeps a
 * map from the client's sha1 (of the original script) to Redis's sha1 (of the rewritten one).
 *
 * Not emulated: the GET path form (`/set/k/v`), pub/sub, blocking commands fairness (BLPOP
 * stalls the shared connection), and commands that change connection state (refused).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient, ErrorReply, RESP_TYPES } from "@redis/client";

/** A reply as sent on the wire: strings (base64 or UTF-8), numbers, null, and arrays of those. */
export type EncodedReply = string | number | null | EncodedReply[];

/** Options for {@link startUpstashBridge}. */
export interface UpstashBridgeOptions {
  /** Redis to forward to, e.g. `redis://127.0.0.1:6380`. */
  redisUrl: string;
  /** Bearer token clients must present (compared in constant time). */
  token: string;
  /** TCP port to listen on. @default 0 (any free port) */
  port?: number;
  /** Interface to bind. @default "127.0.0.1" */
  host?: string;
}

/** A running bridge: point `new Redis({ url, token })` at it. */
export interface UpstashBridge {
  /** `http://HOST:PORT`, usable as UPSTASH_REDIS_REST_URL. */
  url: string;
  /** The token it accepts, usable as UPSTASH_REDIS_REST_TOKEN. */
  token: string;
  /**
   * What the bridge has served since it started (monotonic; take deltas). Benchmarks and counting
   * tests read it to price a request in Upstash terms: one HTTP request is one round trip, and
   * Upstash bills each command of a request (a pipeline of 5 is 5 commands).
   */
  counters(): UpstashBridgeCounters;
  /** Stops listening, drops keep-alive sockets and closes the Redis connection. */
  close(): Promise<void>;
}

/** Totals of {@link UpstashBridge.counters}. */
export interface UpstashBridgeCounters {
  /** Authorized HTTP requests to `/`, `/pipeline` and `/multi-exec` (round trips), rejected ones included. */
  requests: number;
  /**
   * Commands those requests carried: 1 per `POST /`, one per entry of `/pipeline` and
   * `/multi-exec` (MULTI/EXEC the bridge adds are not counted). Commands a Lua script runs are not
   * seen here; Redis's `INFO commandstats` counts them.
   */
  commands: number;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** Commands that would change the shared connection's state for every other request (plus CLIENT REPLY/TRACKING). */
const REFUSED = new Set(
  "multi exec discard watch unwatch select quit reset hello monitor subscribe psubscribe ssubscribe unsubscribe punsubscribe sunsubscribe".split(
    " ",
  ),
);
/** Flags that exist only on Upstash; stock Redis 7 answers "Unexpected flag in script shebang". */
const UPSTASH_ONLY_FLAGS = new Set(["allow-key-locking"]);

/**
 * Encodes a RESP2 reply for the REST response: Buffers become base64 (byte-exact) or UTF-8,
 * numbers and null pass through, arrays recurse, and nested error replies become their text.
 * Never emits objects, because the client's base64 decoder only walks strings and arrays.
 */
export function encodeReply(reply: unknown, base64: boolean): EncodedReply {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === "number") return reply;
  if (typeof reply === "bigint") return Number(reply);
  if (Array.isArray(reply)) return reply.map((item) => encodeReply(item, base64));
  if (reply instanceof Error) return encodeReply(reply.message, base64);
  const bytes = Buffer.isBuffer(reply) ? reply : Buffer.from(String(reply), "utf8");
  return bytes.toString(base64 ? "base64" : "utf8");
}

/**
 * Removes Upstash-only flags from a `#!lua` shebang line, keeping any others, so the script
 * keeps its Redis 7 "shebang" semantics. Scripts without a shebang are returned unchanged.
 */
export function stripUpstashScriptFlags(script: string): string {
  const line = /^#!lua[^\r\n]*/.exec(script)?.[0];
  if (line === undefined) return script;
  const words = line.split(/[ \t]+/).flatMap((word) => {
    if (!word.startsWith("flags=")) return [word];
    const flags = word.slice("flags=".length).split(",");
    const kept = flags.filter((flag) => flag !== "" && !UPSTASH_ONLY_FLAGS.has(flag));
    return kept.length > 0 ? [`flags=${kept.join(",")}`] : [];
  });
  return words.join(" ") + script.slice(line.length);
}

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

type Scalar = string | number | boolean;
const isCommand = (value: unknown): value is Scalar[] =>
  Array.isArray(value) &&
  value.length > 0 &&
  value.every((arg) => typeof arg === "string" || typeof arg === "number" || typeof arg === "boolean");

/** Reads the body, capped at {@link MAX_BODY_BYTES}; `undefined` when it is too large. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Starts the bridge and connects it to `redisUrl` (RESP2, replies as Buffers, no reply
 * transformers: node-redis `sendCommand`).
 *
 * @throws Error when Redis cannot be reached or the port cannot be bound.
 * @example
 * const bridge = await startUpstashBridge({ redisUrl: "redis://127.0.0.1:6380", token: "dev" });
 * const redis = new Redis({ url: bridge.url, token: bridge.token });
 */
export async function startUpstashBridge(options: UpstashBridgeOptions): Promise<UpstashBridge> {
  // Offline queue off: while Redis is down, a command fails at once (the request gets an error
  // reply, as from an unreachable Upstash) instead of waiting, unbounded, for a reconnect that may
  // never come; the client's own timeout would otherwise be the only bound.
  const base = createClient({ url: options.redisUrl, RESP: 2, disableOfflineQueue: true });
  base.on("error", () => {}); // reconnects on its own; failed commands surface per request
  await base.connect();
  // Passed per call: `withTypeMapping()` does NOT reach `sendCommand` in node-redis 5.12 (it reads
  // the base client's options), which would silently turn binary replies into lossy UTF-8.
  const typeMapping = { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.SIMPLE_STRING]: Buffer };
  const send = <T = unknown>(args: string[], chainId?: symbol) =>
    base.sendCommand<T>(args, { typeMapping, chainId });
  /** sha1(script as the client sent it) → sha1(script as Redis stored it). */
  const shaMap = new Map<string, string>();
  const tokenDigest = createHash("sha256").update(options.token).digest();
  let syncToken = 0;
  const counted: UpstashBridgeCounters = { requests: 0, commands: 0 };

  const register = (script: string) => {
    const rewritten = stripUpstashScriptFlags(script);
    const originalSha = sha1(script);
    if (rewritten !== script) shaMap.set(originalSha, sha1(rewritten));
    return { rewritten, originalSha };
  };
  const translateSha = (sha: string) => shaMap.get(sha.toLowerCase()) ?? sha;

  /** Stringifies arguments and applies the script rewrites; `reply` restores the client's sha. */
  const prepare = (command: Scalar[]): { args: string[]; reply?: Buffer } => {
    const args = command.map(String);
    const name = args[0]?.toLowerCase() ?? "";
    const sub = args[1]?.toLowerCase();
    if (REFUSED.has(name) || (name === "client" && (sub === "reply" || sub === "tracking")))
      throw new ErrorReply(`ERR command '${name}' is not supported by the bridge`);
    if ((name === "eval" || name === "eval_ro") && args[1] !== undefined) {
      args[1] = register(args[1]).rewritten;
    } else if ((name === "evalsha" || name === "evalsha_ro") && args[1] !== undefined) {
      args[1] = translateSha(args[1]);
    } else if (name === "script" && sub === "load" && args[2] !== undefined) {
      const { rewritten, originalSha } = register(args[2]);
      args[2] = rewritten;
      return { args, reply: Buffer.from(originalSha) };
    } else if (name === "script" && sub === "exists") {
      for (let i = 2; i < args.length; i++) args[i] = translateSha(args[i] ?? "");
    }
    return { args };
  };
  const run = async (command: Scalar[]): Promise<unknown> => {
    const { args, reply } = prepare(command);
    const result = await send(args);
    return reply ?? result;
  };

  /** All commands are queued synchronously, so no other request's command can land inside. */
  const transaction = async (commands: Scalar[][]) => {
    const prepared = commands.map(prepare);
    const chainId = Symbol("multi-exec");
    const queued = [["MULTI"], ...prepared.map((p) => p.args)].map((args) => send(args, chainId));
    const exec = send<unknown[]>(["EXEC"], chainId);
    const queueErrors = (await Promise.allSettled(queued)).flatMap((r) =>
      r.status === "rejected" ? [r.reason as unknown] : [],
    );
    try {
      const replies = await exec;
      return replies.map((reply, i) => (reply instanceof Error ? reply : (prepared[i]?.reply ?? reply)));
    } catch (error) {
      const first = queueErrors[0] instanceof Error ? ` First error: ${queueErrors[0].message}` : "";
      throw error instanceof Error ? new ErrorReply(`${error.message}${first}`) : error;
    }
  };

  const server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, {
        "content-type": "application/json",
        "upstash-sync-token": String(++syncToken),
      });
      res.end(JSON.stringify(body));
    };
    /** Redis errors are the client's fault (400, text verbatim, e.g. NOSCRIPT); others are ours. */
    const fail = (error: unknown) =>
      send(error instanceof ErrorReply ? 400 : 500, {
        error: error instanceof Error ? error.message : "ERR",
      });
    const entry = (settled: PromiseSettledResult<unknown>, base64: boolean) =>
      settled.status === "fulfilled"
        ? { result: encodeReply(settled.value, base64) }
        : { error: settled.reason instanceof Error ? settled.reason.message : String(settled.reason) };

    const handle = async () => {
      const presented = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1] ?? "";
      const digest = createHash("sha256").update(presented).digest();
      if (!timingSafeEqual(digest, tokenDigest)) return send(401, { error: "Unauthorized" });
      const path = (req.url ?? "/").split("?")[0]?.replace(/\/+$/, "") ?? "";
      if (!["", "/pipeline", "/multi-exec"].includes(path))
        return send(404, { error: "ERR unknown endpoint" });
      if (req.method !== "POST") return send(405, { error: "ERR only POST is supported" });
      counted.requests++;
      const text = await readBody(req);
      if (text === undefined) return send(413, { error: "ERR request body too large" });
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return send(400, { error: "ERR request body is not valid JSON" });
      }
      const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
      if (path === "") {
        if (!isCommand(body)) return send(400, { error: "ERR body must be a JSON array of arguments" });
        counted.commands++;
        return send(200, { result: encodeReply(await run(body), base64) });
      }
      if (!Array.isArray(body) || body.length === 0 || !body.every(isCommand)) {
        return send(400, { error: "ERR body must be a non-empty JSON array of commands (arrays)" });
      }
      counted.commands += body.length;
      if (path === "/pipeline") {
        const settled = await Promise.allSettled(body.map(run));
        return send(
          200,
          settled.map((s) => entry(s, base64)),
        );
      }
      const replies = await transaction(body);
      return send(
        200,
        replies.map((reply) =>
          entry(
            reply instanceof Error
              ? { status: "rejected", reason: reply }
              : { status: "fulfilled", value: reply },
            base64,
          ),
        ),
      );
    };
    handle().catch(fail);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    token: options.token,
    counters: () => ({ ...counted }),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      // close() waits for pending replies, which never come from a stopped Redis: drop them then.
      if (base.isReady) await base.close();
      else base.destroy();
    },
  };
}
