/**
 * The rate-limit policy table (the seed's limits) and the parser of its configuration overrides.
 * Pure data and parsing, no I/O: the config schema imports it, the middleware in `rate-limit.ts`
 * enforces it.
 */

/** What a policy counts under: the client address (IPv6 by /64) or the authenticated user id. */
export type RateLimitKey = "ip" | "user";

/**
 * One rate limit: at most `limit` requests per sliding window of `windowSeconds`, counted per
 * subject (`key`). `failClosed`: when Redis cannot answer in time, refuse with 503 instead of
 * letting the request through (OWASP Authentication Cheat Sheet: protect the endpoints that guess
 * secrets or cost money even when the limiter is degraded).
 */
export interface RateLimitPolicy {
  limit: number;
  windowSeconds: number;
  key: RateLimitKey;
  failClosed: boolean;
}

/** A configured replacement of a policy's numbers (its key and failure mode never change). */
export interface RateLimitOverride {
  limit: number;
  windowSeconds: number;
}

const MINUTE = 60;
const DAY = 86_400;

/**
 * The per-route policies, by name. Unauthenticated routes count per client address; authenticated
 * ones per user id. Fail-closed are the routes that guess a secret (password, OTP, reset or refresh
 * token, second-factor code) or send mail/SMS on request (create, otp_phone, forget_password, mfa,
 * mfa_verify): during a Redis outage
 * they answer 503 rather than run unthrottled. `create` needs Redis anyway (verification token, Bloom
 * filter) and is the mass sign-up / mail-bombing vector, so it fails closed too. The rest (verify
 * with a 256-bit link token, profile, update, logout, logout_all, delete) proceed and log a warning.
 */
export const RATE_LIMIT_POLICIES = {
  create: { limit: 5, windowSeconds: MINUTE, key: "ip", failClosed: true },
  login: { limit: 5, windowSeconds: MINUTE, key: "ip", failClosed: true },
  verify: { limit: 10, windowSeconds: MINUTE, key: "ip", failClosed: false },
  otp_phone: { limit: 3, windowSeconds: MINUTE, key: "user", failClosed: true },
  verify_otp_phone: { limit: 5, windowSeconds: MINUTE, key: "user", failClosed: true },
  forget_password: { limit: 3, windowSeconds: MINUTE, key: "ip", failClosed: true },
  reset_password: { limit: 3, windowSeconds: MINUTE, key: "ip", failClosed: true },
  profile: { limit: 60, windowSeconds: MINUTE, key: "user", failClosed: false },
  update: { limit: 10, windowSeconds: MINUTE, key: "user", failClosed: false },
  logout: { limit: 10, windowSeconds: MINUTE, key: "user", failClosed: false },
  delete: { limit: 1, windowSeconds: DAY, key: "user", failClosed: false },
  token: { limit: 10, windowSeconds: MINUTE, key: "ip", failClosed: true },
  change_password: { limit: 5, windowSeconds: MINUTE, key: "user", failClosed: true },
  logout_all: { limit: 5, windowSeconds: MINUTE, key: "user", failClosed: false },
  /**
   * `GET /health`, per address, WITHOUT the global per-address limit (an uptime monitor polling
   * every 2 s stays under it; the global 100/hour would not let it): each request costs a store
   * and a Redis ping. Fails open: a health check must still answer (503) while Redis is down.
   */
  health: { limit: 30, windowSeconds: MINUTE, key: "ip", failClosed: false },
  /**
   * The operator endpoints (`/health/detailed`, `/metrics`), per address, counted before the
   * operator token is checked, without the global limit (a Prometheus scrape every 15 s is 4/min).
   */
  operations: { limit: 30, windowSeconds: MINUTE, key: "ip", failClosed: false },
  /**
   * Requests to a QStash-signed function (`/jobs/*`) whose `Upstash-Signature` is missing or
   * invalid, per address; once spent, that address gets 429 and nothing more is audited. Genuine
   * deliveries are never counted (their signature verifies first, in memory), so QStash's own
   * addresses, which carry every delivery, are never throttled by it, whatever the volume.
   */
  job_signature: { limit: 10, windowSeconds: MINUTE, key: "ip", failClosed: false },
  mfa: { limit: 10, windowSeconds: MINUTE, key: "user", failClosed: true },
  mfa_verify: { limit: 10, windowSeconds: MINUTE, key: "ip", failClosed: true },
} as const satisfies Record<string, RateLimitPolicy>;

/** Name of a per-route policy, e.g. `"login"`. */
export type RateLimitPolicyName = keyof typeof RATE_LIMIT_POLICIES;

/** Name under which the global per-address limit is overridden (`RATE_LIMITS="global=200/3600"`). */
export const GLOBAL_POLICY_NAME = "global";

/**
 * The second limit every rate-limited route also applies: 100 requests per hour per client
 * address, across all policies and kinds. Its own `failClosed` is false; a failed check fails
 * closed when either this or the route's policy says so.
 */
export const GLOBAL_RATE_LIMIT_POLICY: RateLimitPolicy = {
  limit: 100,
  windowSeconds: 3600,
  key: "ip",
  failClosed: false,
};

/** The effective policies: one per route name, plus the global per-address one. */
export interface RateLimitPolicySet {
  routes: Record<RateLimitPolicyName, RateLimitPolicy>;
  global: RateLimitPolicy;
}

/**
 * The default table with configured overrides applied (numbers only; key and failure mode stay).
 * @param overrides e.g. `config.rateLimits`, as parsed by {@link parseRateLimitOverrides}.
 */
export function rateLimitPolicies(overrides: Record<string, RateLimitOverride> = {}): RateLimitPolicySet {
  const routes = { ...RATE_LIMIT_POLICIES } as Record<RateLimitPolicyName, RateLimitPolicy>;
  for (const name of Object.keys(routes) as RateLimitPolicyName[]) {
    const o = overrides[name];
    if (o) routes[name] = { ...routes[name], limit: o.limit, windowSeconds: o.windowSeconds };
  }
  const g = overrides[GLOBAL_POLICY_NAME];
  const global = g ? { ...GLOBAL_RATE_LIMIT_POLICY, ...g } : { ...GLOBAL_RATE_LIMIT_POLICY };
  return { routes, global };
}

/** Upper bounds accepted for an override: a million requests, a window of 30 days. */
const MAX_LIMIT = 1_000_000;
const MAX_WINDOW_SECONDS = 30 * DAY;

/**
 * Parses `RATE_LIMITS`, a comma-separated list of `name=limit/windowSeconds`, e.g.
 * `"login=10/60,create=3/60,global=200/3600"`. Names are the policy names plus `global`; limit
 * is 1..1,000,000 and windowSeconds 1..2,592,000 (30 days), both whole numbers. Absent or blank
 * means no overrides.
 * @returns `{ ok: true, overrides }`, or `{ ok: false, problem }` naming every bad entry.
 */
export function parseRateLimitOverrides(
  raw: string | undefined,
): { ok: true; overrides: Record<string, RateLimitOverride> } | { ok: false; problem: string } {
  const overrides: Record<string, RateLimitOverride> = {};
  if (raw === undefined || raw.trim() === "") return { ok: true, overrides };
  const known = [...Object.keys(RATE_LIMIT_POLICIES), GLOBAL_POLICY_NAME];
  const problems: string[] = [];
  for (const entry of raw.split(",").map((e) => e.trim())) {
    const m = /^([a-z_]+)\s*=\s*(\d{1,9})\s*\/\s*(\d{1,9})$/.exec(entry);
    if (!m) {
      problems.push(
        `bad entry ${JSON.stringify(entry)} (expected name=limit/windowSeconds, e.g. login=10/60)`,
      );
      continue;
    }
    const [, name = "", limitText = "", windowText = ""] = m;
    const limit = Number(limitText);
    const windowSeconds = Number(windowText);
    if (!known.includes(name)) problems.push(`unknown policy ${JSON.stringify(name)}`);
    else if (name in overrides) problems.push(`duplicate policy ${JSON.stringify(name)}`);
    else if (limit < 1 || limit > MAX_LIMIT)
      problems.push(`${name}: limit must be from 1 to ${MAX_LIMIT}, got ${limit}`);
    else if (windowSeconds < 1 || windowSeconds > MAX_WINDOW_SECONDS)
      problems.push(`${name}: windowSeconds must be from 1 to ${MAX_WINDOW_SECONDS}, got ${windowSeconds}`);
    else overrides[name] = { limit, windowSeconds };
  }
  if (problems.length > 0) {
    return { ok: false, problem: `${problems.join("; ")} (known policies: ${known.join(", ")})` };
  }
  return { ok: true, overrides };
}
