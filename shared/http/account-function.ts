import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { AccountDeps } from "../accounts/deps";
import { authenticate, type Principal } from "../accounts/sessions";
import type { UserProfile } from "../accounts/user-codec";
import { ACCOUNT_FUNCTION_AUDIT, outcomeOfStatus } from "../observability/audit";
import type { Services } from "../services";
import { type AppEnv, matchedRoutePattern } from "./app";
import { defineFunction } from "./function-app";
import { createRateLimits, type RateLimits } from "./rate-limit";
import { type RateLimitPolicyName, rateLimitPolicies } from "./rate-limit-policies";

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

/** What an account function's routes are built with. */
export interface AccountKit {
  services: Services;
  /** The use-cases' dependencies (built once per cold start). */
  deps(): Promise<AccountDeps>;
  /**
   * Middleware: a valid, unrevoked access token for `kind` (sets `principal`, `cachedProfile`,
   * `userId`). It also counts the global per-address rate limit BEFORE checking the token (429
   * `rate_limited` once exhausted, whatever the token), concurrently with the session lookup. With
   * `policy`, it also starts the route's per-user limit as soon as the token verifies, beside the
   * session MGET (one Redis round trip); mount `rateLimit(policy)` after it to enforce that verdict.
   */
  requireAuth(kind: string, policy?: RateLimitPolicyName): MiddlewareHandler<AccountEnv>;
  /** Middleware: the named rate-limit policy plus the global per-address limit. */
  rateLimit(policy: RateLimitPolicyName): MiddlewareHandler<AppEnv>;
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
 * Defines a function whose routes repeat for every user kind (DESIGN.md §3): `register` is called
 * once per kind in `USER_KINDS`, so routes are generated from one definition, never copied.
 *
 * Auditing, in this one place for every account route: when the function is listed in
 * `ACCOUNT_FUNCTION_AUDIT`, each request that reached a route of a kind is recorded as
 * `{action, outcome: from the response status, code: the problem code}`, its actor being the
 * authenticated user, else the user the handler identified (`c.set("auditActor", id)`), else the
 * blind index of the email the request named (validated input only), else nobody. A request
 * refused by a rate limit is recorded as `rate_limited` (naming the policy) instead. The write runs
 * beside the rest of the response work (`waitUntil`, awaited before the response, bounded) and never
 * fails the request. Reads (the profile) are not audited, so the hot path pays nothing for it.
 */
export function defineAccountFunction(
  name: string,
  register: (app: OpenAPIHono<AccountEnv>, kit: AccountKit, kind: string) => void,
): OpenAPIHono<AppEnv> {
  return defineFunction(name, (app, services) => {
    const { config } = services;
    /** Requests a rate limit refused: audited as `rate_limited`, not as their route's action. */
    const refused = new WeakSet<object>();
    let built: RateLimits | undefined;
    const limits = () =>
      (built ??= createRateLimits({
        redis: services.redis(),
        prefix: "",
        policies: rateLimitPolicies(config.rateLimits),
        timeoutMs: config.redis.timeoutMs,
        onRefused: (c, policyName) => {
          refused.add(c);
          c.get("waitUntil")(
            services.audit().record({
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
    const kit: AccountKit = {
      services,
      deps: () => services.accountDeps(),
      requireAuth: (kind, policy) => async (c, next) => {
        // The global per-address limit is counted before the token is checked (so a flood of bad
        // tokens is limited too), concurrently with authentication's own Redis read.
        const rateLimits = limits();
        // AccountEnv only adds variables to AppEnv; Hono's Context type is invariant in its env.
        const appContext = c as unknown as Context<AppEnv>;
        rateLimits.startGlobalCheck(appContext);
        const outcome = await services
          .accountDeps()
          .then((deps) =>
            authenticate(deps, kind, c.req.header("authorization"), (claims) => {
              if (!policy) return;
              c.set("userId", claims.sub);
              rateLimits.startPolicyCheck(appContext, policy);
            }),
          )
          .then(
            (auth) => ({ ok: true as const, auth }),
            (error: unknown) => ({ ok: false as const, error }),
          );
        // An address over the global limit gets 429, whatever its token was.
        await rateLimits.enforceGlobalCheck(appContext);
        if (!outcome.ok) {
          c.set("userId", undefined); // a token that verified but was refused names nobody
          throw outcome.error;
        }
        const { auth } = outcome;
        c.set("principal", auth.principal);
        c.set("cachedProfile", auth.cachedProfile);
        c.set("userId", auth.principal.userId);
        await next();
      },
      rateLimit: (policy) => async (c, next) => limits().middleware(policy)(c, next),
    };
    const audited = ACCOUNT_FUNCTION_AUDIT[name];
    if (audited) {
      app.use(async (c, next) => {
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
              actor = `eidx_${(await services.accountDeps()).blindIndex(kind, email)}`;
            } catch {
              actor = null; // not an address: nobody to name
            }
          }
          await services.audit().record({
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
      });
    }
    for (const kind of config.userKinds) register(app as unknown as OpenAPIHono<AccountEnv>, kit, kind);
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
