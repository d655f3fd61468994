import type { RouteConfig } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { AccountDeps } from "../accounts/deps";
import {
  credentialEpochOf,
  openSession,
  type Principal,
  sessionStateKeys,
  sessionStateUnavailable,
  verifyBearer,
} from "../accounts/sessions";
import type { UserProfile } from "../accounts/user-codec";
import { GLOBAL_POLICY_NAME, rateLimitPolicies } from "../config/rate-limits";
import type { AccessTokenClaims } from "../crypto/tokens";
import { outcomeOfStatus } from "../observability/audit";
import { problemResponsesFor } from "./account-schemas";
import { type AppEnv, matchedRoutePattern } from "./app";
import { jsonOrForm } from "./body-type";
import type { FunctionContext } from "./context";
import { type EndpointSpec, routeProblemCodes } from "./endpoint";
import { type CreateApp, defineFunction } from "./function-app";
import { createRateLimits, type RateLimits } from "./rate-limit";
import { defineRoute, type RouteApp } from "./route-app";
import { checkSession } from "./session-check";

/** Variables an authenticated account route can read. */
export interface AuthVariables {
  principal: Principal;
  /** The profile from the Redis cache read during authentication, or `null` on a miss. */
  cachedProfile: UserProfile | null;
}

/** The Hono environment of account routes. */
export interface AccountEnv {
  Variables: AppEnv["Variables"] & AuthVariables;
}

/** A route of an account endpoint before the kit adds what its spec implies. */
export type AccountRouteConfig = Omit<RouteConfig, "path" | "tags" | "security" | "middleware"> & {
  /** Path relative to `/{kind}`, e.g. `/login` (`/` for the kind's root). */
  path: string;
  /** Route-specific middleware, mounted before the spec's rate limit (e.g. a same-origin check). */
  middleware?: MiddlewareHandler[];
};

/** What an account function's routes are built with, for one kind. */
export interface AccountKit {
  ctx: FunctionContext;
  kind: string;
  /**
   * The named members of the use-cases' dependencies (each built once per cold start, on first
   * request), e.g. `kit.deps(...LOGIN_DEPS)`.
   */
  deps<K extends keyof AccountDeps>(...members: K[]): Promise<Pick<AccountDeps, K>>;
  /**
   * A route of this kind with what the spec implies: the path under `/{kind}`, the kind's tag, the
   * bearer security requirement, the middleware in the one right order (global per-address limit
   * and authentication, then the per-user or per-address policy) and the problem responses the
   * route can answer (from its auth, limit and request shape, plus the spec's `errors`).
   */
  route<R extends AccountRouteConfig>(config: R): R & { getRoutingPath(): string };
  /**
   * The validated body of a JSON-or-form route, by its `Content-Type`.
   * @throws AuthError `unsupported_media_type` (415) for any other type.
   */
  body<T>(c: Context, valid: { json(): T; form(): T }): T;
}

/** A validated input field of the request, if the route's validators produced it (after the handler ran). */
function validatedField(c: Context, field: string): unknown {
  const req = c.req as unknown as { valid(target: string): unknown };
  for (const target of ["json", "form", "query"]) {
    const data = req.valid(target);
    if (typeof data === "object" && data !== null && field in data)
      return (data as Record<string, unknown>)[field];
  }
  return undefined;
}

/**
 * Authentication for `kind`: a valid, unrevoked access token (sets `principal`, `cachedProfile`,
 * `userId`), in one Redis call (DESIGN.md §6):
 * - the token is verified first (CPU only); a token that fails is counted in the global
 *   per-address limit alone (so a flood of bad tokens is limited: 429 once exhausted, else 401);
 * - a verified token's session state is read and the request counted, in ONE script
 *   ({@link checkSession}), in the global limit and — only when the token is not revoked — in the
 *   endpoint's policy (a revoked token spends nothing of its user's budget);
 * - an address over the global limit gets 429 whatever its token; a revoked token 401; the policy
 *   middleware mounted after this one enforces the policy verdict without another call.
 * Fails closed: when Redis cannot answer, 503.
 */
function requireAuth(
  ctx: FunctionContext,
  limits: () => RateLimits,
  kind: string,
  spec: EndpointSpec,
): MiddlewareHandler<AccountEnv> {
  const policy = spec.rateLimit;
  return async function authenticateBearer(c, next) {
    // AccountEnv only adds variables to AppEnv; Hono's Context type is invariant in its env.
    const appContext = c as unknown as Context<AppEnv>;
    const deps = await ctx.accountDeps("tokens", "kv", "ring");
    let claims: AccessTokenClaims;
    try {
      claims = await verifyBearer(deps, kind, c.req.header("authorization"));
    } catch (error) {
      if (policy) {
        const rateLimits = limits();
        rateLimits.startGlobalCheck(appContext);
        await rateLimits.enforceGlobalCheck(appContext);
      }
      throw error;
    }
    const keys = sessionStateKeys(kind, claims);
    let values: readonly (string | null)[];
    if (policy) {
      const rateLimits = limits();
      c.set("userId", claims.sub); // the subject of a user-keyed policy
      const windows = {
        global: rateLimits.windowFor(appContext, GLOBAL_POLICY_NAME),
        route: rateLimits.windowFor(appContext, policy),
      };
      let check: Awaited<ReturnType<typeof checkSession>>;
      try {
        check = await checkSession(
          deps.kv,
          keys,
          { iat: claims.iat, epoch: credentialEpochOf(claims) },
          windows,
        );
      } catch (cause) {
        c.set("userId", undefined);
        throw sessionStateUnavailable(cause);
      }
      rateLimits.adopt(appContext, GLOBAL_POLICY_NAME, windows.global, check.globalRemaining);
      rateLimits.adopt(appContext, policy, windows.route, check.routeRemaining);
      // An address over the global limit gets 429, whatever its token was.
      await rateLimits.enforceGlobalCheck(appContext);
      values = check.values;
    } else {
      try {
        values = await deps.kv.mget(keys.filter((k): k is string => k !== null));
      } catch (cause) {
        throw sessionStateUnavailable(cause);
      }
    }
    let auth: Awaited<ReturnType<typeof openSession>>;
    try {
      auth = await openSession(deps, kind, claims, values);
    } catch (error) {
      c.set("userId", undefined); // a token that verified but was refused names nobody
      throw error;
    }
    c.set("principal", auth.principal);
    c.set("cachedProfile", auth.cachedProfile);
    c.set("userId", auth.principal.userId);
    await next();
  };
}

/**
 * The audit middleware of an audited endpoint: each request that reached a route of a kind is
 * recorded as `{action, outcome: from the response status, code: the problem code}`, its actor
 * being the authenticated user, else the user the handler identified (`c.set("auditActor", id)`),
 * else the blind index of the email the request named (validated input only), else nobody. A
 * request refused by a rate limit is recorded as `rate_limited` instead (by the limiter). The write
 * runs beside the rest of the response work (`waitUntil`, bounded) and never fails the request.
 */
function auditRequests(
  ctx: FunctionContext,
  audited: NonNullable<EndpointSpec["audit"]>,
  refused: WeakSet<object>,
): MiddlewareHandler<AppEnv> {
  return async function audit(c, next) {
    await next();
    const kind = c.get("kind");
    if (!kind || refused.has(c) || c.req.method === "OPTIONS" || matchedRoutePattern(c) === "unmatched")
      return;
    const known = c.get("userId") ?? c.get("auditActor");
    const email = audited.emailField ? validatedField(c, audited.emailField) : undefined;
    const record = async () => {
      let actor: string | null = known ?? null;
      if (!actor && typeof email === "string") {
        try {
          actor = `eidx_${(await ctx.accountDeps("blindIndex")).blindIndex(kind, email)}`;
        } catch {
          actor = null; // not an address: nobody to name
        }
      }
      await ctx.audit().record({
        kind,
        action: audited.action,
        outcome: outcomeOfStatus(c.res.status),
        actor,
        clientAddress: c.get("clientAddress"),
        code: c.get("errorCode") ?? null,
        requestId: c.get("requestId"),
      });
    };
    c.get("waitUntil")(record());
  };
}

/**
 * `Cache-Control: no-store` on every account response that did not set its own (tokens and
 * profile data must never be cached: RFC 6749 §5.1, OWASP), errors included.
 */
const noStore: MiddlewareHandler = async function noStore(c, next) {
  await next();
  if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
};

/**
 * Defines an account function from its spec (DESIGN.md §3): `register` is called once per kind
 * in `USER_KINDS`, so routes are generated from one definition, never copied. What the spec says
 * is applied here, in one place for every account endpoint: authentication and the rate-limit
 * policy in the right order, the audit action, `Cache-Control: no-store`, and the documented
 * problem responses.
 *
 * @returns `createApp(ctx)`.
 */
export function defineAccountFunction(
  spec: EndpointSpec,
  register: (app: RouteApp<AccountEnv>, kit: AccountKit) => void,
): CreateApp {
  return defineFunction(spec, (app, ctx) => {
    const { config } = ctx;
    /** Requests a rate limit refused: audited as `rate_limited`, not as their route's action. */
    const refused = new WeakSet<object>();
    let built: RateLimits | undefined;
    const limits = () =>
      (built ??= createRateLimits({
        redis: ctx.redis(),
        prefix: "",
        policies: rateLimitPolicies(config.rateLimits),
        timeoutMs: config.redis.timeoutMs,
        onRefused: (c, policyName) => {
          refused.add(c);
          c.get("waitUntil")(
            ctx.audit().record({
              kind: c.get("kind") ?? null,
              action: "rate_limited",
              outcome: "failure",
              actor: c.get("userId") ?? null,
              clientAddress: c.get("clientAddress"),
              code: policyName,
              requestId: c.get("requestId"),
            }),
          );
        },
      }));
    if (spec.audit) app.use(auditRequests(ctx, spec.audit, refused));
    app.use(noStore);
    const policy = spec.rateLimit;
    const limit: MiddlewareHandler<AppEnv> | undefined = policy
      ? async function rateLimit(c, next) {
          return limits().middleware(policy)(c, next);
        }
      : undefined;
    for (const kind of config.userKinds) {
      const auth = spec.auth === "bearer" ? requireAuth(ctx, limits, kind, spec) : undefined;
      const kit: AccountKit = {
        ctx,
        kind,
        deps: (...members) => ctx.accountDeps(...members),
        route: (route) => {
          const { path, middleware = [], responses, ...rest } = route;
          const request = route.request ?? {};
          const codes = routeProblemCodes(spec, {
            body: request.body !== undefined,
            query: request.query !== undefined,
          });
          return defineRoute({
            ...rest,
            path: `/${kind}${path}`,
            tags: [kind],
            ...(auth ? { security: [{ bearerAuth: [] }] } : {}),
            middleware: [...(auth ? [auth] : []), ...middleware, ...(limit ? [limit] : [])],
            responses: { ...problemResponsesFor(codes), ...responses },
          }) as never;
        },
        body: (c, valid) =>
          jsonOrForm(c.req.header("content-type")) === "json" ? valid.json() : valid.form(),
      };
      register(app as unknown as RouteApp<AccountEnv>, kit);
    }
  });
}

/** Shapes an issued session as an OAuth2 token response (RFC 6749 §5.1): login, refresh, change password. */
export function tokenBody(session: { accessToken: string; expiresInSeconds: number; refreshToken: string }) {
  return {
    access_token: session.accessToken,
    token_type: "bearer" as const,
    expires_in: session.expiresInSeconds,
    refresh_token: session.refreshToken,
  };
}

/** Shapes a profile as the seed's API returned it (snake_case, ISO time), never with the password hash. */
export function profileBody(profile: UserProfile) {
  return {
    id: profile.id,
    first_name: profile.firstName,
    last_name: profile.lastName,
    email: profile.email,
    phone: profile.phone,
    country_code: profile.countryCode,
    country: profile.country,
    is_email_verified: profile.emailVerified,
    phone_verified: profile.phoneVerified,
    created_at: new Date(profile.createdAtMs).toISOString(),
  };
}
