import type { MiddlewareHandler } from "hono";
import { setResponseHeaders } from "./response-headers";

/** The only request ids accepted from outside: 1–128 characters of `[A-Za-z0-9._-]`. */
export const REQUEST_ID_FORMAT = /^[A-Za-z0-9._-]{1,128}$/;

/** Options of {@link requestIds}. */
export interface RequestIdOptions {
  /**
   * How many reverse proxies in front are trusted (`TRUSTED_PROXY_COUNT`). With 0 the request
   * reached the function straight from the client, so its `X-Request-Id` is the client's own
   * choice and is never adopted.
   */
  trustedProxyCount: number;
  /** Makes a fresh id. @default crypto.randomUUID */
  generate?: () => string;
}

/**
 * Sets the request id (`c.get("requestId")`, the `X-Request-Id` response header, every log line,
 * problem body and audit event). An incoming `X-Request-Id` is adopted only when the deployment
 * declares trusted proxies in front (`trustedProxyCount > 0`: the id was set or passed on by
 * infrastructure the operator controls, e.g. a load balancer's trace id) AND it matches
 * {@link REQUEST_ID_FORMAT}; otherwise a random UUID (122 random bits) is generated. So a client
 * cannot choose, forge or collide the ids that correlate audit events and logs, and nothing but
 * `[A-Za-z0-9._-]` reaches a log line or header from it (OWASP Logging Cheat Sheet, "event
 * attributes": do not trust client-supplied correlation ids; log injection).
 */
export function requestIds(options: RequestIdOptions): MiddlewareHandler {
  const generate = options.generate ?? (() => crypto.randomUUID());
  const adoptable = options.trustedProxyCount > 0;
  return async function requestId(c, next) {
    const incoming = adoptable ? c.req.header("x-request-id") : undefined;
    const id = incoming !== undefined && REQUEST_ID_FORMAT.test(incoming) ? incoming : generate();
    c.set("requestId", id);
    await next();
    // After the handler, so error responses (built by the error handler) carry it too.
    setResponseHeaders(c, { "X-Request-Id": id });
  };
}
