import type { SessionStateValues } from "../accounts/sessions";
import type { Kv, KvScript } from "../ports/kv";
import type { SlidingWindow } from "./rate-limit";

/**
 * The one Redis call of an authenticated, rate-limited request (DESIGN.md §6: profile read =
 * 1 round trip): reads the token's session state (revocation mark, legacy revoked-before time,
 * the user's credential epoch, encrypted profile cache, refresh-family mark) in one MGET and counts
 * the request in the global per-address limit and, only when the token is not revoked, in the
 * route's own limit — both with `@upstash/ratelimit`'s sliding-window algorithm and keys, so the
 * library's own checks on other routes see the same counts.
 *
 * "Revoked" is decided here with the same rule as `isRevoked` in `shared/accounts/sessions.ts`
 * (which re-decides on the returned values): a revocation mark, a revoked family, a credential
 * epoch other than the token's (absent = 0; equality, so a lost counter revives nothing), or a
 * legacy revoked-before time at or after the token's `iat`.
 *
 * KEYS: revoked jti, revoked-before, credential epoch, profile, family (or the revoked-jti key
 * again when the token has no session id), then current and previous window of the global limit
 * and of the route limit.
 * ARGV: iat (epoch seconds), token epoch (`cep`, a non-negative integer, or -1 for an unusable
 * claim), has-family (0/1), then per limit: now (ms), limit, window (ms).
 * Reply: `{revoked, revokedBefore, epoch, profile, family, globalRemaining, routeRemaining}`, `""`
 * for an absent value (the profile is `""` too for a revoked token), a negative remaining for a
 * refusal, and `-1000000000` for "not counted".
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
local state = redis.call("MGET", KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
local revoked = state[1] or ""
local before = state[2] or ""
local epoch = state[3] or ""
local family = ""
if ARGV[3] == "1" then family = state[5] or "" end
local g = window(KEYS[6], KEYS[7], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))
local current = 0
if epoch ~= "" then current = tonumber(epoch) end
local dead = revoked ~= "" or family ~= ""
  or current == nil or tonumber(ARGV[2]) ~= current
  or (before ~= "" and tonumber(ARGV[1]) <= tonumber(before))
if dead then return {revoked, before, epoch, "", family, g, -1000000000} end
local r = window(KEYS[8], KEYS[9], tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]))
return {revoked, before, epoch, state[4] or "", family, g, r}
`,
};

const NOT_COUNTED = -1_000_000_000;

/** A reply value as a string, `null` for absent (`""`, nil). */
function text(v: unknown): string | null {
  return v === null || v === undefined || v === "" ? null : String(v);
}

/** What {@link checkSession} read and counted. */
export interface SessionCheck {
  /**
   * The values at the session-state keys (revoked jti, legacy revoked-before, credential epoch,
   * profile, family), `null` when absent; the profile is `null` for a revoked token.
   */
  values: SessionStateValues;
  /** Remaining requests of the global limit (negative: refused). */
  globalRemaining: number;
  /** Remaining requests of the route limit (negative: refused), `null` when not counted (a revoked token). */
  routeRemaining: number | null;
}

/**
 * Runs the session check (see the file comment) in one command.
 * @param stateKeys the token's session-state keys (`sessionStateKeys`; the family may be `null`).
 * @param token the token's `iat` (epoch seconds) and credential epoch (`credentialEpochOf`; `null`
 *   for an unusable claim, which the check treats as revoked).
 * @throws whatever the Kv throws when Redis cannot answer (the caller fails closed).
 */
export async function checkSession(
  kv: Kv,
  stateKeys: readonly [string, string, string, string, string | null],
  token: { iat: number; epoch: number | null },
  limits: { global: SlidingWindow; route: SlidingWindow },
): Promise<SessionCheck> {
  const [jti, before, epoch, profile, family] = stateKeys;
  const { global: g, route: r } = limits;
  const reply = (await kv.evalScript(
    SESSION_CHECK,
    [jti, before, epoch, profile, family ?? jti, g.currentKey, g.previousKey, r.currentKey, r.previousKey],
    [
      token.iat,
      token.epoch ?? -1,
      family ? 1 : 0,
      g.nowMs,
      g.limit,
      g.windowMs,
      r.nowMs,
      r.limit,
      r.windowMs,
    ],
  )) as unknown[];
  const routeRemaining = Number(reply[6]);
  return {
    values: [text(reply[0]), text(reply[1]), text(reply[2]), text(reply[3]), text(reply[4])],
    globalRemaining: Number(reply[5]),
    routeRemaining: routeRemaining === NOT_COUNTED ? null : routeRemaining,
  };
}
