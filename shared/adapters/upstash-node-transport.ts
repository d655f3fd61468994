import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { errors, type Requester, type UpstashRequest, type UpstashResponse } from "@upstash/redis";

/** Options of {@link createNodeRequester}. */
export interface NodeRequesterOptions {
  /** The Upstash REST URL (`UPSTASH_REDIS_REST_URL`), `https:` in production, `http:` for the local bridge. */
  url: string;
  /** The REST token, sent as `Authorization: Bearer <token>`. */
  token: string;
  /** Per-request deadline in milliseconds: no byte sent or received for this long fails the request. */
  timeoutMs: number;
}

/** Thrown when Upstash does not answer within `timeoutMs` (the request may have run). */
export class UpstashTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`Upstash REST request timed out after ${timeoutMs} ms`);
    this.name = "UpstashTimeoutError";
  }
}

/** A request that failed before Redis could have seen it (the one kind that is sent again). */
class UnsentRequestError extends Error {
  constructor(cause: Error) {
    super(`Upstash REST request not sent: ${cause.message}`, { cause });
    this.name = "UnsentRequestError";
  }
}

/**
 * The Upstash REST protocol (notes/protocols.md §1) over `node:http(s)` with keep-alive sockets,
 * as a `Requester` for `@upstash/redis` (its documented extension point; commands, scripts,
 * pipelines and auto-pipelining stay the client's own).
 *
 * Why not the client's built-in transport: it calls the global `fetch` (undici), whose first call
 * loads undici (≈ 30 ms of a cold start) and whose per-request cost (WHATWG streams, header
 * validation, an `AbortSignal` per request, a WASM HTTP parser) was the largest item in the profile
 * of a session read. Node's own HTTP client is already loaded on Lambda (the runtime talks to its
 * API with it) and costs a fraction per request.
 *
 * Node-only (the portable adapter, `upstash-kv.ts`, uses Web APIs only); the composition root
 * chooses it for Node functions: `upstashRedisOver(createNodeRequester(…))`.
 *
 * Behaviour, as the built-in transport configured in `createUpstashRedis`:
 * - `POST <url>[/<path>]`, JSON body, `Authorization: Bearer`, and the read-your-writes sync token
 *   echoed from the last response (`upstash-sync-token`).
 * - Strings come back as sent (no `Upstash-Encoding: base64`: every value this service stores is
 *   UTF-8 text, so the base64 round trip bought nothing but CPU).
 * - A non-2xx answer throws `UpstashError("<error>, command was: …")`, a non-JSON body
 *   `UpstashJSONParseError`, silence for `timeoutMs` an {@link UpstashTimeoutError}. A request
 *   is sent a second time only when it cannot have reached Redis (connection refused, or a
 *   kept-alive socket the server had closed); any other network error is thrown, since the command
 *   may have run (an INCR must not count twice).
 */
export function createNodeRequester(options: NodeRequesterOptions): Requester {
  const base = new URL(options.url);
  const https = base.protocol === "https:";
  if (!https && base.protocol !== "http:")
    throw new Error(`Upstash REST URL must be http(s): ${options.url}`);
  const agent = https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const send = https ? httpsRequest : httpRequest;
  const basePath = base.pathname.replace(/\/$/, "");
  const authorization = `Bearer ${options.token}`;
  let syncToken = "";

  const once = (path: string, body: string) =>
    new Promise<{ status: number; text: string; syncToken: string | undefined }>((resolve, reject) => {
      let answered = false;
      const req = send(
        {
          agent,
          protocol: base.protocol,
          hostname: base.hostname.replace(/^\[(.*)\]$/, "$1"), // IPv6 literals without brackets
          port: base.port,
          method: "POST",
          path,
          headers: {
            authorization,
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            "upstash-sync-token": syncToken,
          },
        },
        (res: IncomingMessage) => {
          answered = true;
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            const header = res.headers["upstash-sync-token"];
            resolve({
              status: res.statusCode ?? 0,
              text: Buffer.concat(chunks).toString("utf8"),
              syncToken: typeof header === "string" ? header : undefined,
            });
          });
        },
      );
      req.setTimeout(options.timeoutMs, () => req.destroy(new UpstashTimeoutError(options.timeoutMs)));
      req.on("error", (error: NodeJS.ErrnoException) => {
        // Safe to send again only when the command cannot have reached Redis: the connection was
        // refused, or a kept-alive socket the server had already closed broke before any answer
        // (Node's documented keep-alive race: `reusedSocket` and ECONNRESET).
        const unsent =
          error.code === "ECONNREFUSED" ||
          (req.reusedSocket && !answered && (error.code === "ECONNRESET" || error.code === "EPIPE"));
        reject(unsent ? new UnsentRequestError(error) : error);
      });
      req.end(body);
    });

  return {
    readYourWrites: true,
    get upstashSyncToken() {
      return syncToken;
    },
    set upstashSyncToken(token: string) {
      syncToken = token;
    },
    async request<TResult>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
      const path = [basePath, ...(req.path ?? [])].join("/") || "/";
      const body = JSON.stringify(req.body);
      let answer: Awaited<ReturnType<typeof once>>;
      try {
        answer = await once(path, body);
      } catch (error) {
        if (!(error instanceof UnsentRequestError)) throw error;
        answer = await once(path, body);
      }
      if (answer.syncToken !== undefined) syncToken = answer.syncToken;
      let parsed: UpstashResponse<TResult>;
      try {
        parsed = JSON.parse(answer.text) as UpstashResponse<TResult>;
      } catch (cause) {
        throw new errors.UpstashJSONParseError(answer.text, { cause });
      }
      if (answer.status < 200 || answer.status > 299)
        throw new errors.UpstashError(`${parsed.error}, command was: ${body}`);
      return parsed;
    },
  };
}
