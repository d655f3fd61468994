import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { AccountDeps } from "../accounts/deps";
import { authenticate, type Principal } from "../accounts/sessions";
import type { UserProfile } from "../accounts/user-codec";
import type { Services } from "../services";
import type { AppEnv } from "./app";
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
   * `rate_limited` once exhausted, whatever the token), concurrently with the session lookup; mount
   * `rateLimit(policy)` after it for the route's per-user limit.
   */
  requireAuth(kind: string): MiddlewareHandler<AccountEnv>;
  /** Middleware: the named rate-limit policy plus the global per-address limit. */
  rateLimit(policy: RateLimitPolicyName): MiddlewareHandler<AppEnv>;
}

/**
 * Defines a function whose routes repeat for every user kind (DESIGN.md §3): `register` is called
 * once per kind in `USER_KINDS`, so routes are generated from one definition, never copied.
 */
export function defineAccountFunction(
  name: string,
  register: (app: OpenAPIHono<AccountEnv>, kit: AccountKit, kind: string) => void,
): OpenAPIHono<AppEnv> {
  return defineFunction(name, (app, services) => {
    const { config } = services;
    let built: RateLimits | undefined;
    const limits = () =>
      (built ??= createRateLimits({
        redis: services.redis(),
        prefix: "",
        policies: rateLimitPolicies(config.rateLimits),
        timeoutMs: config.redis.timeoutMs,
      }));
    const kit: AccountKit = {
      services,
      deps: () => services.accountDeps(),
      requireAuth: (kind) => async (c, next) => {
        // The global per-address limit is counted before the token is checked (so a flood of bad
        // tokens is limited too), concurrently with authentication's own Redis read.
        const rateLimits = limits();
        // AccountEnv only adds variables to AppEnv; Hono's Context type is invariant in its env.
        const appContext = c as unknown as Context<AppEnv>;
        rateLimits.startGlobalCheck(appContext);
        const outcome = await services
          .accountDeps()
          .then((deps) => authenticate(deps, kind, c.req.header("authorization")))
          .then(
            (auth) => ({ ok: true as const, auth }),
            (error: unknown) => ({ ok: false as const, error }),
          );
        // An address over the global limit gets 429, whatever its token was.
        await rateLimits.enforceGlobalCheck(appContext);
        if (!outcome.ok) throw outcome.error;
        const { auth } = outcome;
        c.set("principal", auth.principal);
        c.set("cachedProfile", auth.cachedProfile);
        c.set("userId", auth.principal.userId);
        await next();
      },
      rateLimit: (policy) => async (c, next) => limits().middleware(policy)(c, next),
    };
    for (const kind of config.userKinds) register(app as unknown as OpenAPIHono<AccountEnv>, kit, kind);
  });
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
