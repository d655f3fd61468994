import type { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis";
import type { Context, MiddlewareHandler } from "hono";
import {
  GLOBAL_POLICY_NAME,
  RATE_LIMIT_POLICIES,
  type RateLimitPolicy,
  type RateLimitPolicyName,
  type RateLimitPolicySet,
} from "../config/rate-limits";
import { AuthError } from "../errors";
import { errorFields } from "../observability/logger";
import type { AppEnv } from "./app";
import { rateLimitSubject } from "./client-address";
import { problems } from "./problem";
import { setResponseHeaders } from "./response-headers";
import type { SlidingWindowSpec } from "./sliding-window";

/** Options of {@link createRateLimits}. */
export interface RateLimitsOptions {
  /** An `@upstash/redis` client (e.g. from `createUpstashRedis`), shared by every policy. */
  redis: Redis;
  /** Prefix of every key, before `rl:<policy>:` (e.g. `""` or `"auth:"`). */
  prefix: string;
  /** The effective table, e.g. `rateLimitPolicies(config.rateLimits)`. */
  policies: RateLimitPolicySet;
  /**
   * Milliseconds a check may take before it counts as "Redis unavailable". Keep it ≤ the Redis
   * client's own request timeout, so the limiter's verdict comes first and is explicit.
   */
  timeoutMs: number;
  /** Most subjects each policy's in-memory block cache remembers. @default 10000 */
  ephemeralCacheEntries?: number;
  /**
   * Called once per refused request, just before the 429 is thrown, with the name of the policy
   * that refused (`"global"` for the per-address limit): the account kit records the audit event
   * `rate_limited` here. Must not throw; hand slow work to `c.get("waitUntil")`.
   */
  onRefused?: (c: Context<AppEnv>, policyName: string) => void;
}

/** Rate-limit middleware factory: one middleware per route policy. */
export interface RateLimits {
  /**
   * Middleware enforcing `policyName` and the global per-address limit. Mount it after the auth
   * middleware on authenticated routes (it reads `c.get("userId")` for user-keyed policies). When
   * {@link RateLimits.startGlobalCheck} already counted this request, it reuses that verdict and
   * only checks `policyName`.
   * @throws AuthError `rate_limited` (429) when a limit is exhausted; `service_unavailable` (503)
   *   when Redis cannot answer and the policy fails closed.
   */
  middleware(policyName: RateLimitPolicyName): MiddlewareHandler<AppEnv>;
  /**
   * Starts counting this request against the global per-address limit NOW, without waiting for
   * the verdict: the auth middleware calls it before verifying the token, so the count runs
   * concurrently with authentication (its Redis call overlaps the session MGET) and an
   * invalid-token flood is counted too. Idempotent per request.
   */
  startGlobalCheck(c: Context<AppEnv>): void;
  /**
   * Awaits the check {@link RateLimits.startGlobalCheck} started (no-op when none was).
   * @throws AuthError `rate_limited` (429) when the address has exhausted the global limit. A
   *   failed check (Redis unavailable) does not throw here: the route's `middleware` applies its
   *   failure policy, and authentication fails closed on its own.
   */
  enforceGlobalCheck(c: Context<AppEnv>): Promise<void>;
  /**
   * Starts counting this request against `policyName` NOW (for a user-keyed policy, once
   * `c.get("userId")` is set), so the auth middleware can issue it in the same tick as the session
   * lookup and auto-pipelining sends both in one HTTP request; the route's `middleware(policyName)`
   * then awaits this verdict instead of making a second, sequential call. Idempotent per request.
   */
  startPolicyCheck(c: Context<AppEnv>, policyName: RateLimitPolicyName): void;
  /**
   * The sliding-window buckets this request is counted in for `policyName` (or `"global"`), in
   * `@upstash/ratelimit`'s key layout (`rl:<policy>:<subject>:<window index>`), so another script
   * can count it in its own Redis call with the library's algorithm (the session check does).
   */
  windowFor(c: Context<AppEnv>, policyName: RateLimitPolicyName | typeof GLOBAL_POLICY_NAME): SlidingWindow;
  /**
   * Records a verdict counted elsewhere for this request: `remaining` as the library's script
   * returns it (negative: refused), or `null` when the request was not counted. `enforceGlobalCheck`
   * and `middleware(policyName)` then enforce it without a Redis call.
   */
  adopt(
    c: Context<AppEnv>,
    policyName: RateLimitPolicyName | typeof GLOBAL_POLICY_NAME,
    window: SlidingWindow,
    remaining: number | null,
  ): void;
}

/** One limit's sliding-window buckets for one request (`@upstash/ratelimit`'s layout and algorithm). */
export interface SlidingWindow {
  currentKey: string;
  previousKey: string;
  limit: number;
  windowMs: number;
  /** When the current window ends, epoch milliseconds. */
  resetMs: number;
  /** The time the window was computed for, epoch milliseconds (the script weighs the previous window by it). */
  nowMs: number;
}

/** The verdict of one limiter call, or why there is none. */
type Check =
  | { ok: true; success: boolean; limit: number; remaining: number; resetMs: number }
  | { ok: false; reason: "timeout" | "error"; cause?: unknown };

/**
 * A Map that forgets its oldest entry beyond `max`: the ephemeral cache only adds subjects Redis
 * refused, and an attacker rotating addresses must not grow it without bound in a warm instance.
 * Forgetting an entry only costs one Redis round trip later.
 */
class BoundedMap extends Map<string, number> {
  constructor(private readonly max: number) {
    super();
  }
  override set(key: string, value: number): this {
    if (!this.has(key) && this.size >= this.max) {
      const oldest = this.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
    return super.set(key, value);
  }
}

const secondsUntil = (epochMs: number, nowMs: number) => Math.max(0, Math.ceil((epochMs - nowMs) / 1000));

// The middleware's per-check tests, defined once (not as closures made on every request).
type Verdict = Extract<Check, { ok: true }>;
function isVerdict(check: Check): check is Verdict {
  return check.ok;
}
function isRefusal(check: Verdict): boolean {
  return !check.success;
}
function isFailure(check: Check): check is Extract<Check, { ok: false }> {
  return !check.ok;
}
/** The tighter of two verdicts: fewer requests left, or the later reset on a tie. */
function tighter(a: Verdict | undefined, b: Verdict): Verdict {
  return !a || b.remaining < a.remaining || (b.remaining === a.remaining && b.resetMs > a.resetMs) ? b : a;
}

/** `RateLimit-*` headers (draft-ietf-httpapi-ratelimit-headers, the separate-fields form). */
function rateLimitHeaders(
  check: Extract<Check, { ok: true }>,
  nowMs: number,
  remaining = check.remaining,
): Record<string, string> {
  return {
    "RateLimit-Limit": String(check.limit),
    "RateLimit-Remaining": String(Math.max(0, remaining)),
    "RateLimit-Reset": String(secondsUntil(check.resetMs, nowMs)),
  };
}

/** The 429 for a refused verdict: `Retry-After` and the refusing limit's `RateLimit-*` headers. */
function refusal(refused: Extract<Check, { ok: true }>[], nowMs: number): AuthError {
  const latest = refused.reduce((a, b) => (b.resetMs > a.resetMs ? b : a));
  const retryAfterSeconds = Math.max(1, secondsUntil(latest.resetMs, nowMs));
  return new AuthError("rate_limited", {
    detail: `Too many requests; retry in ${retryAfterSeconds} seconds`,
    retryAfterSeconds,
    headers: rateLimitHeaders(latest, nowMs, 0),
  });
}

/** What a check needs of a limiter: `Ratelimit.limit`. */
type Limiter = Pick<Ratelimit, "limit">;

/**
 * A `@upstash/ratelimit` sliding-window limiter, built on its first check: the library (and its
 * share of a cold start) is loaded only by a request that uses it. An authenticated request counts
 * its limits inside the session check's script (`session-check.ts`) and never does.
 */
function lazyLimiter(spec: Omit<SlidingWindowSpec, "ephemeralCache">, cacheEntries: number): Limiter {
  let built: Promise<Limiter> | undefined;
  const build = async () =>
    (await import("./sliding-window")).createSlidingWindowLimiter({
      ...spec,
      ephemeralCache: new BoundedMap(cacheEntries),
    });
  return {
    async limit(identifier) {
      built ??= build();
      return (await built).limit(identifier);
    },
  };
}

async function runCheck(limiter: Limiter, identifier: string): Promise<Check> {
  try {
    const r = await limiter.limit(identifier);
    // The library resolves `{success: true, reason: "timeout"}` when Redis is slow: not a verdict.
    if (r.reason === "timeout") return { ok: false, reason: "timeout" };
    return { ok: true, success: r.success, limit: r.limit, remaining: r.remaining, resetMs: r.reset };
  } catch (cause) {
    // Connection refused, HTTP errors and client-side aborts throw instead.
    return { ok: false, reason: "error", cause };
  }
}

/**
 * Builds the rate limiters: one `@upstash/ratelimit` sliding-window limiter per policy (and one for
 * the global per-address policy), each built on its first check, with Redis keys under
 * `<prefix>rl:<policy>:`.
 *
 * Subjects: `ip:<address>` (IPv6 by /64, see `rateLimitSubject`) for address-keyed policies and
 * for the global limit; `user:<userId>` for user-keyed ones. Limits are per policy and subject
 * across user kinds: an address gets one budget however many kinds it targets (otherwise each kind
 * would multiply an attacker's budget), and user ids are ≥128 random bits, unique in practice
 * across kinds. A user-keyed policy reached without `userId` (middleware mounted before auth)
 * falls back to the address subject and logs a warning, so the limit still applies.
 *
 * Responses carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds) of the
 * tighter of the two limits; a refusal is a 429 problem+json with code `rate_limited` and
 * `Retry-After` (seconds, RFC 9110 §10.2.3). `Reset`/`Retry-After` come from the library's reset
 * time, the end of the current fixed window; with the sliding window's weighting of the previous
 * window, a client may still be refused right after it, so treat them as lower bounds.
 *
 * Authenticated routes: the auth middleware calls `startGlobalCheck` before verifying the token
 * and `enforceGlobalCheck` once it is done (valid or not), so the global per-address limit is
 * counted BEFORE authentication (an invalid-token flood exhausts it and then gets 429, not 401)
 * while its Redis call runs concurrently with the session lookup; the route's `middleware` then
 * counts only the per-user policy — started by the auth middleware (`startPolicyCheck`) as soon as
 * the token's signature verifies, in the same tick as the session MGET, so an authenticated read
 * costs one sequential Redis round trip (the global check overlaps it). Unauthenticated routes send
 * both checks together in one auto-pipelined round trip.
 *
 * Failure policy: a check that throws (Redis unreachable) or reports `reason: "timeout"` after
 * `timeoutMs` fails closed (503 `service_unavailable`) when the route's policy or the global one is
 * `failClosed`, and otherwise lets the request through and logs a warning.
 *
 * The library's ephemeral cache is kept (bounded, per instance): it refuses, without a Redis
 * round trip, a subject Redis refused, until that window's reset, so a flood costs no Redis calls.
 * With the sliding window it may keep refusing a little longer than Redis would (the previous
 * window's weight decays within the current one): stricter, never looser, and at most one window.
 *
 * @throws Error when `timeoutMs` is not a positive integer (checked when built).
 */
export function createRateLimits(options: RateLimitsOptions): RateLimits {
  const { redis, prefix, policies, timeoutMs } = options;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
    throw new Error("createRateLimits: timeoutMs must be a positive integer");
  }
  const cacheEntries = options.ephemeralCacheEntries ?? 10_000;
  const build = (name: string, policy: RateLimitPolicy) =>
    lazyLimiter({ redis, policy, prefix: `${prefix}rl:${name}`, timeoutMs }, cacheEntries);
  const globalLimiter = build(GLOBAL_POLICY_NAME, policies.global);
  const limiters = new Map<string, Limiter>();
  for (const [name, policy] of Object.entries(policies.routes)) limiters.set(name, build(name, policy));
  /** Global checks started before authentication, per request (a Context lives for one request). */
  const started = new WeakMap<Context<AppEnv>, Promise<Check>>();
  const ipSubjectOf = (c: Context<AppEnv>) => `ip:${rateLimitSubject(c.get("clientAddress"))}`;
  /** Route-policy checks started by the auth middleware, per request and policy. */
  const startedPolicies = new WeakMap<Context<AppEnv>, Map<string, Promise<Check>>>();
  const subjectOf = (c: Context<AppEnv>, policyName: string, policy: RateLimitPolicy): string => {
    if (policy.key !== "user") return ipSubjectOf(c);
    const userId = c.get("userId");
    if (userId) return `user:${userId}`;
    c.get("log").warn(`user-keyed rate limit ${policyName} reached without a user id`, {
      event: "rate_limit_no_user",
    });
    return ipSubjectOf(c);
  };

  const windowOf = (name: string, policy: RateLimitPolicy, subject: string): SlidingWindow => {
    const nowMs = Date.now();
    const windowMs = policy.windowSeconds * 1000;
    const index = Math.floor(nowMs / windowMs);
    const base = `${prefix}rl:${name}:${subject}`;
    return {
      currentKey: `${base}:${index}`,
      previousKey: `${base}:${index - 1}`,
      limit: policy.limit,
      windowMs,
      resetMs: (index + 1) * windowMs,
      nowMs,
    };
  };

  return {
    windowFor(c, policyName) {
      if (policyName === GLOBAL_POLICY_NAME)
        return windowOf(GLOBAL_POLICY_NAME, policies.global, ipSubjectOf(c));
      const policy = policies.routes[policyName];
      if (!policy) throw new Error(`createRateLimits: unknown policy ${JSON.stringify(policyName)}`);
      return windowOf(policyName, policy, subjectOf(c, policyName, policy));
    },

    adopt(c, policyName, window, remaining) {
      if (remaining === null) return;
      const check: Check = {
        ok: true,
        success: remaining >= 0,
        limit: window.limit,
        remaining: Math.max(0, remaining),
        resetMs: window.resetMs,
      };
      if (policyName === GLOBAL_POLICY_NAME) {
        started.set(c, Promise.resolve(check));
        return;
      }
      let forRequest = startedPolicies.get(c);
      if (!forRequest) {
        forRequest = new Map();
        startedPolicies.set(c, forRequest);
      }
      forRequest.set(policyName, Promise.resolve(check));
    },

    startGlobalCheck(c) {
      if (!started.has(c)) started.set(c, runCheck(globalLimiter, ipSubjectOf(c)));
    },

    async enforceGlobalCheck(c) {
      const pending = started.get(c);
      if (!pending) return;
      const check = await pending;
      if (check.ok && !check.success) {
        options.onRefused?.(c, GLOBAL_POLICY_NAME);
        throw refusal([check], Date.now());
      }
    },

    startPolicyCheck(c, policyName) {
      const policy = policies.routes[policyName];
      const limiter = limiters.get(policyName);
      if (!policy || !limiter)
        throw new Error(`createRateLimits: unknown policy ${JSON.stringify(policyName)}`);
      let forRequest = startedPolicies.get(c);
      if (!forRequest) {
        forRequest = new Map();
        startedPolicies.set(c, forRequest);
      }
      if (!forRequest.has(policyName))
        forRequest.set(policyName, runCheck(limiter, subjectOf(c, policyName, policy)));
    },

    middleware(policyName) {
      const policy = policies.routes[policyName];
      const limiter = limiters.get(policyName);
      if (!policy || !limiter || !(policyName in RATE_LIMIT_POLICIES)) {
        throw new Error(`createRateLimits: unknown policy ${JSON.stringify(policyName)}`);
      }
      const failClosed = policy.failClosed || policies.global.failClosed;

      return async function rateLimit(c, next) {
        const log = c.get("log");
        // Both checks go out together (auto-pipelining makes them one HTTP round trip), or were
        // already started by the auth middleware beside the session lookup.
        const checks = await Promise.all([
          startedPolicies.get(c)?.get(policyName) ?? runCheck(limiter, subjectOf(c, policyName, policy)),
          started.get(c) ?? runCheck(globalLimiter, ipSubjectOf(c)),
        ]);
        const nowMs = Date.now();

        const verdicts = checks.filter(isVerdict);
        const refused = verdicts.filter(isRefusal);
        if (refused.length > 0) {
          const [own] = checks;
          options.onRefused?.(c, own?.ok && !own.success ? policyName : GLOBAL_POLICY_NAME);
          throw refusal(refused, nowMs);
        }

        const failed = checks.find(isFailure);
        if (failed) {
          log.warn(`rate limit check failed (${policyName})`, {
            event: "rate_limit_unavailable",
            service: "redis",
            reason: failed.reason,
            outcome: failClosed ? "refused" : "allowed",
            // Name and message only: during an outage every request logs this, a stack adds nothing.
            ...(failed.cause === undefined ? {} : { ...errorFields(failed.cause), err_stack: undefined }),
          });
          if (failClosed) throw problems.dependencyUnavailable("rate limiter", failed.cause);
        }

        await next();
        // The tighter limit is the one the client will hit first (fewest left; later reset on a tie).
        const tightest = verdicts.reduce<Verdict | undefined>(tighter, undefined);
        if (tightest) setResponseHeaders(c, rateLimitHeaders(tightest, nowMs));
      };
    },
  };
}

/** Options of {@link createAddressLimit}. */
export interface AddressLimitOptions {
  /** An `@upstash/redis` client (e.g. `ctx.redis()`). */
  redis: Redis;
  /** Prefix of every key, before `rl:<policy>:` (the same as the account routes' limiter). */
  prefix: string;
  /** The policy's name, for keys, headers and logs (e.g. `"health"`). */
  policyName: RateLimitPolicyName;
  /** The effective policy, e.g. `rateLimitPolicies(config.rateLimits).routes.health`; must be keyed by `ip`. */
  policy: RateLimitPolicy;
  /** Milliseconds a check may take before it counts as "Redis unavailable". */
  timeoutMs: number;
  /** Most subjects the in-memory block cache remembers. @default 10000 */
  ephemeralCacheEntries?: number;
}

/** One per-address limit on its own, without the global per-address limit; see {@link createAddressLimit}. */
export interface AddressLimit {
  /**
   * Counts this request for its client address (IPv6 by /64).
   * @returns the `RateLimit-*` headers to send (empty when Redis gave no verdict).
   * @throws AuthError `rate_limited` (429, `Retry-After`) when the address has spent the policy;
   *   `service_unavailable` (503) when Redis cannot answer and the policy fails closed.
   */
  enforce(c: Context<AppEnv>): Promise<Record<string, string>>;
  /** Middleware: {@link AddressLimit.enforce} before the handler, its headers on the response. */
  middleware(): MiddlewareHandler<AppEnv>;
}

/**
 * A per-address limit that is NOT combined with the global per-address limit, for the routes that
 * machines call on a schedule or in bulk — `/health` (uptime monitors), the operator endpoints
 * (scrapers) and the rejected-signature budget of `/jobs/*` (see `signature-guard.ts`), where the
 * global 100/hour would throttle legitimate callers. Same library, algorithm, key layout
 * (`<prefix>rl:<policy>:ip:<subject>`), headers, ephemeral cache and failure policy as
 * {@link createRateLimits}.
 * @throws Error when the policy is not keyed by address or `timeoutMs` is not a positive integer.
 */
export function createAddressLimit(options: AddressLimitOptions): AddressLimit {
  const { policyName, policy } = options;
  if (policy.key !== "ip") throw new Error(`createAddressLimit: ${policyName} must be keyed by address`);
  if (!Number.isInteger(options.timeoutMs) || options.timeoutMs < 1)
    throw new Error("createAddressLimit: timeoutMs must be a positive integer");
  const limiter = lazyLimiter(
    {
      redis: options.redis,
      policy,
      prefix: `${options.prefix}rl:${policyName}`,
      timeoutMs: options.timeoutMs,
    },
    options.ephemeralCacheEntries ?? 10_000,
  );
  const enforce = async (c: Context<AppEnv>): Promise<Record<string, string>> => {
    const check = await runCheck(limiter, `ip:${rateLimitSubject(c.get("clientAddress"))}`);
    const nowMs = Date.now();
    if (!check.ok) {
      c.get("log").warn(`rate limit check failed (${policyName})`, {
        event: "rate_limit_unavailable",
        service: "redis",
        reason: check.reason,
        outcome: policy.failClosed ? "refused" : "allowed",
        ...(check.cause === undefined ? {} : { ...errorFields(check.cause), err_stack: undefined }),
      });
      if (policy.failClosed) throw problems.dependencyUnavailable("rate limiter", check.cause);
      return {};
    }
    if (!check.success) throw refusal([check], nowMs);
    return rateLimitHeaders(check, nowMs);
  };
  return { enforce, middleware: () => enforcingMiddleware(enforce) };
}

/** Middleware running `enforce` before the handler and sending the headers it returned on the response. */
export function enforcingMiddleware(enforce: AddressLimit["enforce"]): MiddlewareHandler<AppEnv> {
  return async function addressLimit(c, next) {
    const headers = await enforce(c);
    await next();
    setResponseHeaders(c, headers);
  };
}
