import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { matchedRoutes } from "hono/route";
import { secureHeaders } from "hono/secure-headers";
import type { ZodError } from "zod";
import { settleWithin } from "../async";
import type { Config } from "../config/schema";
import { AuthError } from "../errors";
import { countRequest } from "../observability/http-metrics";
import { createLogger, errorFields, type Logger } from "../observability/logger";
import type { Metrics } from "../observability/metrics";
import { KvUnavailableError } from "../ports/kv";
import { clientAddress } from "./client-address";
import { PROBLEM_CONTENT_TYPE, problemBody, problemResponse, problems } from "./problem";
import { requestIds } from "./request-id";
import { RouteApp } from "./route-app";

/** Per-request values every function can read with `c.get(...)`. */
export interface AppVariables {
  requestId: string;
  /** Client address as the platform reports it (see `client-address.ts`). */
  clientAddress: string;
  /** Logger bound to request id, function name, cold-start flag and (on account routes) user kind. */
  log: Logger;
  /** The authenticated user's id, set by the auth middleware on authenticated routes (user-keyed rate limits read it). */
  userId?: string;
  /** The user kind of an account route (the first path segment when it is a configured kind). */
  kind?: string;
  /**
   * The user a handler identified WITHOUT an access token (a verification link's owner, a refresh
   * token's owner), so the audit trail can name them; an authenticated route's `userId` wins.
   */
  auditActor?: string;
  /** The problem `code` of the error response, once the error handler has produced one. */
  errorCode?: string;
  /**
   * Hands over work that must finish before the response is returned but need not delay the
   * handler (an audit write, a metrics increment): it runs concurrently and the app awaits it,
   * bounded, after the handler. Not "after the response": on Lambda, work still running once the
   * handler's promise resolves may be frozen with the instance and never complete. Rejections are
   * ignored (the work reports its own failures).
   */
  waitUntil(work: Promise<unknown>): void;
}

/** The Hono environment of every function app. */
export interface AppEnv {
  Variables: AppVariables;
}

/** Options of {@link createFunctionApp}, checked when the app is built. */
export interface FunctionAppOptions {
  /** Manifest name of the function, written on every log line. */
  name: string;
  /** Request bodies above this many bytes get 413 before they are read. */
  bodyLimitBytes: number;
  /** How many reverse proxies in front are trusted to append `X-Forwarded-For` (0: ignore the header). */
  trustedProxyCount: number;
  /** Allowed CORS origins (exact `scheme://host[:port]`); empty: no CORS headers at all. */
  corsOrigins: string[];
  /** Where log lines go; defaults to a stdout JSON logger. */
  logger?: Logger;
  /** Configured user kinds: a request whose first path segment is one carries it as `kind` (log and context). */
  userKinds?: readonly string[];
  /** Cross-instance counters; every request is counted by route pattern, method and status class. */
  metrics?: Metrics;
  /** Longest the app waits, after the handler, for work handed to `waitUntil`, milliseconds. @default 1000 */
  pendingWorkWaitMs?: number;
}

/**
 * The {@link FunctionAppOptions} every function derives from its configuration (body limit,
 * trusted proxies, CORS origins), with its name and logger.
 */
export function functionAppOptions(
  name: string,
  config: Pick<Config, "http">,
  logger: Logger,
): Pick<FunctionAppOptions, "name" | "bodyLimitBytes" | "trustedProxyCount" | "corsOrigins" | "logger"> {
  return {
    name,
    bodyLimitBytes: config.http.bodyLimitBytes,
    trustedProxyCount: config.http.trustedProxyCount,
    corsOrigins: config.http.corsOrigins,
    logger,
  };
}

/**
 * The route pattern a request matched (`/User1/login`), or `"unmatched"` when only middleware
 * matched (a 404, a CORS preflight). Patterns, never raw paths, label metrics: bounded cardinality.
 */
export function matchedRoutePattern(c: Context): string {
  const last = matchedRoutes(c).at(-1);
  return last && last.method !== "ALL" ? last.path : "unmatched";
}

/** Converts a zod error into the `errors` member of a 422 problem: field paths and messages, never input values. */
export function validationErrors(error: ZodError): { field: string; message: string; code: string }[] {
  return error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.map(String).join(".") : "(body)",
    message: issue.message,
    code: issue.code,
  }));
}

/** The 422 error for a failed schema validation. */
export function validationFailed(error: ZodError): AuthError {
  return new AuthError("validation_failed", {
    extensions: { errors: validationErrors(error) },
  });
}

/**
 * The security headers of every response of this service, the ONE definition shared by every
 * function app and the local runtime's own responses (its 404/405 and dev pages), so local and
 * deployed answers carry the same values:
 * HSTS (2 years, subdomains), `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, a CSP
 * of `default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'` (an API
 * serves no active content), `Referrer-Policy: no-referrer`, a Permissions-Policy denying
 * camera/microphone/geolocation/payment, COOP and CORP `same-origin`; `X-Powered-By` removed
 * (OWASP HTTP Headers Cheat Sheet).
 *
 * A CSP a handler set itself is kept: the HTML pages send their own, equally strict CSP that
 * additionally allows their inline styles (`pages.ts`), and the docs pages theirs. Every other
 * response gets the values above; the other headers have the same value on every response.
 */
export function securityHeaders(): MiddlewareHandler {
  // Two passes of Hono's middleware, so that only the CSP is looked up before it is set: every
  // other header has one value on every response (a page's own `Referrer-Policy` is the same
  // `no-referrer`), and asking the response for each of them first was 13 more validated header
  // operations per request.
  const fixed = secureHeaders({
    strictTransportSecurity: "max-age=63072000; includeSubDomains",
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    crossOriginResourcePolicy: "same-origin",
    crossOriginOpenerPolicy: "same-origin",
    permissionsPolicy: { camera: [], microphone: [], geolocation: [], payment: [] },
    overwrite: true,
  });
  const csp = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
    },
    crossOriginResourcePolicy: false,
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    referrerPolicy: false,
    strictTransportSecurity: false,
    xContentTypeOptions: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xFrameOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
    removePoweredBy: false,
    overwrite: false,
  });
  return function securityHeaders(c, next) {
    return fixed(c, () => csp(c, next) as Promise<void>);
  };
}

let coldStart = true;

/**
 * Builds the Hono app of one deployed function with the cross-cutting parts every function shares:
 * request id (`X-Request-Id`: adopted only from trusted proxies and in a safe format, see
 * `request-id.ts`), a structured logger, security headers, optional CORS, a body size
 * limit, the client address, and ONE error handler that turns every failure into RFC 9457
 * problem+json with a stable `code`. Unknown errors become a generic 500 carrying only the request
 * id; their cause goes to the log. Validation failures of route schemas become 422 with the
 * offending fields. Routes are added with `app.openapi(route, handler)` so the same zod schema is
 * validator and OpenAPI description.
 *
 * @throws Error when the options are invalid (checked at build time, not per request).
 */
export function createFunctionApp(options: FunctionAppOptions): RouteApp<AppEnv> {
  if (!Number.isInteger(options.bodyLimitBytes) || options.bodyLimitBytes < 1) {
    throw new Error(`createFunctionApp(${options.name}): bodyLimitBytes must be a positive integer`);
  }
  if (options.corsOrigins.includes("*")) {
    throw new Error(`createFunctionApp(${options.name}): "*" is not an allowed CORS origin list entry`);
  }
  const baseLog = options.logger ?? createLogger();
  const kinds = new Set(options.userKinds ?? []);
  const pendingWorkWaitMs = options.pendingWorkWaitMs ?? 1000;
  const app = new RouteApp<AppEnv>((error) => {
    throw validationFailed(error);
  });

  app.use(requestIds({ trustedProxyCount: options.trustedProxyCount }));
  app.use(async (c, next) => {
    const segment = c.req.path.split("/")[1] ?? "";
    const kind = kinds.has(segment) ? segment : undefined;
    const log = baseLog.child({
      request_id: c.get("requestId"),
      function: options.name,
      cold_start: coldStart,
      kind,
    });
    coldStart = false;
    c.set("log", log);
    if (kind) c.set("kind", kind);
    c.set(
      "clientAddress",
      clientAddress(c.env, c.req.header("x-forwarded-for") ?? undefined, options.trustedProxyCount),
    );
    const pending: Promise<unknown>[] = [];
    c.set("waitUntil", pending.push.bind(pending));
    const route = matchedRoutePattern(c);
    // Started now, awaited below: the count runs beside the handler, not after it (http-metrics.ts).
    const count = options.metrics ? countRequest(options.metrics, route, c.req.method) : undefined;
    const started = performance.now();
    await next();
    const status = c.res.status;
    if (count) pending.push(count.finish(status));
    if (pending.length > 0 && !(await settleWithin(Promise.allSettled(pending), pendingWorkWaitMs))) {
      log.warn("background work still running at response time", { event: "pending_work_slow" });
    }
    log.info("request", {
      event: "http_request",
      method: c.req.method,
      route,
      status,
      code: c.get("errorCode"),
      duration_ms: Math.round(performance.now() - started),
    });
  });
  app.use(securityHeaders());
  if (options.corsOrigins.length > 0) {
    const allowed = new Set(options.corsOrigins);
    app.use(
      cors({
        origin: (origin) => (allowed.has(origin) ? origin : null),
        allowHeaders: ["Authorization", "Content-Type", "X-Request-Id"],
        allowMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        exposeHeaders: [
          "X-Request-Id",
          "Retry-After",
          "RateLimit-Limit",
          "RateLimit-Remaining",
          "RateLimit-Reset",
        ],
        maxAge: 600,
      }),
    );
  }
  const limitBody = bodyLimit({
    maxSize: options.bodyLimitBytes,
    onError: () => {
      throw problems.payloadTooLarge(options.bodyLimitBytes);
    },
  });
  // Asking a request for its `body` makes the Node adapter build a full WHATWG Request and stream
  // the body through it, where the handler's own read would take the bytes directly. So:
  // - a GET or HEAD request has no body (Fetch: a Request with one cannot be built): nothing to limit;
  // - a declared length (and no Transfer-Encoding) is checked from the header, which is all Hono's
  //   `bodyLimit` does in that case (the HTTP parser reads no more than the declared length);
  // - anything else (a chunked body) is counted by `bodyLimit` as it streams.
  app.use(function limitRequestBody(c, next) {
    const method = c.req.method;
    if (method === "GET" || method === "HEAD") return next();
    const declared = c.req.header("content-length");
    if (declared === undefined || c.req.header("transfer-encoding") !== undefined) return limitBody(c, next);
    if (Number.parseInt(declared, 10) > options.bodyLimitBytes)
      throw problems.payloadTooLarge(options.bodyLimitBytes);
    return next();
  });

  app.notFound((c) => problemResponse(problems.notFound(), c.get("requestId")));
  app.onError((err, c) => toProblem(err, c));
  return app;
}

/** Maps any thrown value to a problem+json response (the single error handler of every function). */
export function toProblem(err: unknown, c: Context<AppEnv>): Response {
  const id = c.get("requestId");
  const log = c.get("log");
  if (err instanceof AuthError) {
    c.set("errorCode", err.code);
    if (err.status >= 500) log?.error("request failed", { code: err.code, ...errorFields(err.cause ?? err) });
    return problemResponse(err, id);
  }
  if (err instanceof HTTPException && err.status < 500) {
    // Hono's own 4xx (e.g. malformed JSON in the validator, or the OpenAPI router's media-type gate
    // answering 415 for a Content-Type the route does not declare): a stable code, never the parser's text.
    const mapped =
      err.status === 400
        ? problems.malformedBody(err)
        : err.status === 415
          ? new AuthError("unsupported_media_type", {
              detail:
                "Unsupported Content-Type: send the body as application/json (routes that take forms, such as login and token, also accept application/x-www-form-urlencoded)",
            })
          : new AuthError("bad_request");
    c.set("errorCode", mapped.code);
    return problemResponse(mapped, id);
  }
  if (err instanceof KvUnavailableError) {
    // Redis down, slow or refusing: the client may retry (DESIGN.md §9), never a 500.
    const unavailable = problems.dependencyUnavailable("redis", err);
    c.set("errorCode", unavailable.code);
    log?.error("request failed", { code: unavailable.code, ...errorFields(err.cause ?? err) });
    return problemResponse(unavailable, id);
  }
  c.set("errorCode", "internal_error");
  log?.error("unhandled error", { code: "internal_error", ...errorFields(err) });
  const body = problemBody(500, "internal_error", "An unexpected error occurred", id);
  return new Response(JSON.stringify(body), {
    status: 500,
    headers: { "content-type": PROBLEM_CONTENT_TYPE },
  });
}
