import type { Kv, KvScript } from "../ports/kv";
import type { SlidingWindow } from "./rate-limit";

/**
 * The one Redis call of an authenticated, rate-limited request (DESIGN.md §6: profile read =
 * 1 round trip): reads the token's session state (revocation mark, revoked-before time, encrypted
 * profile cache, refresh-family mark) and counts the request in the global per-address limit and,
 * only when the token is not revoked, in the route's own limit — both with `@upstash/ratelimit`'s
 * sliding-window algorithm and keys, so the library's own checks on other routes see the same
 * counts.
 *
 * KEYS: revoked jti, revoked-before, profile, family (or the revoked-jti key again when the token
 * has no session id), then current and previous window of the global limit and of the route limit.
 * ARGV: iat (epoch seconds), has-family (0/1), then per limit: now (ms), limit, window (ms).
 * Reply: `{revoked, revokedBefore, profile, family, globalRemaining, routeRemaining}`, `""` for an
 * absent value, a negative remaining for a refusal, and `-1000000000` for "not counted".
 */
const SESSION_CHECK: KvScript = {
  source: `
local function window(current, previous, now, limit, size)
  local cur = tonumber(redis.call("GET", current) or "0")
  local prev = tonumber(redis.call("GET", previous) or "0")
  prev = math.floor((1 - (now % size) / size) * prev)
  if prev + cur >= limit then return -1 end
  local value = redis.call("INCRBY", current, 1)
  if value == 1 then redis.call("PEXPIRE", current, size * 2 + 1000) end
  return limit - (value + prev)
end
local revoked = redis.call("GET", KEYS[1]) or ""
local before = redis.call("GET", KEYS[2]) or ""
local family = ""
if ARGV[2] == "1" then family = redis.call("GET", KEYS[4]) or "" end
local g = window(KEYS[5], KEYS[6], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]))
local dead = revoked ~= "" or family ~= "" or (before ~= "" and tonumber(ARGV[1]) <= tonumber(before))
if dead then return {revoked, before, "", family, g, -1000000000} end
local r = window(KEYS[7], KEYS[8], tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]))
local profile = redis.call("GET", KEYS[3]) or ""
return {revoked, before, profile, family, g, r}
`,
};

const NOT_COUNTED = -1_000_000_000;

/** What {@link checkSession} read and counted. */
export interface SessionCheck {
  /** The values at the session-state keys (revoked jti, revoked-before, profile, family), `null` when absent. */
  values: [string | null, string | null, string | null, string | null];
  /** Remaining requests of the global limit (negative: refused). */
  globalRemaining: number;
  /** Remaining requests of the route limit (negative: refused), `null` when not counted (a revoked token). */
  routeRemaining: number | null;
}

/**
 * Runs the session check (see the file comment) in one command.
 * @param stateKeys the token's session-state keys (`sessionStateKeys`; the family may be `null`).
 * @param iat the token's issued-at, epoch seconds.
 * @throws whatever the Kv throws when Redis cannot answer (the caller fails closed).
 */
export async function checkSession(
  kv: Kv,
  stateKeys: readonly [string, string, string, string | null],
  iat: number,
  limits: { global: SlidingWindow; route: SlidingWindow },
): Promise<SessionCheck> {
  const [jti, before, profile, family] = stateKeys;
  const { global: g, route: r } = limits;
  const reply = (await kv.evalScript(
    SESSION_CHECK,
    [jti, before, profile, family ?? jti, g.currentKey, g.previousKey, r.currentKey, r.previousKey],
    [iat, family ? 1 : 0, g.nowMs, g.limit, g.windowMs, r.nowMs, r.limit, r.windowMs],
  )) as unknown[];
  const text = (v: unknown) => (v === null || v === undefined || v === "" ? null : String(v));
  const routeRemaining = Number(reply[5]);
  return {
    values: [text(reply[0]), text(reply[1]), text(reply[2]), text(reply[3])],
    globalRemaining: Number(reply[4]),
    routeRemaining: routeRemaining === NOT_COUNTED ? null : routeRemaining,
  };
}
