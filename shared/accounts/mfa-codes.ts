/**
 * Checking second-factor codes against an account's {@link MfaState}: TOTP codes with replay
 * protection (RFC 6238 §5.2), and recovery codes (single use: the matching hash leaves the state
 * in a compare-and-set write). Shared by the login's second step (`mfa-login.ts`) and the
 * enrolment changes that ask for a code (`mfa-enrol.ts`).
 */
import { findRecoveryCode } from "../crypto/recovery-codes";
import { matchTotp, TOTP_PERIOD_SECONDS, TOTP_WINDOW_STEPS } from "../crypto/totp";
import { AuthError } from "../errors";
import type { KvScript } from "../ports/kv";
import type { DepsOf } from "./deps";
import { redisKeys } from "./keys";
import { type MfaState, openMfaState, sealMfaState } from "./mfa-state";
import { updateWithRetry } from "./update-with-retry";

/** 400 for a wrong, malformed, expired or replayed code (one answer for all: no oracle). */
export const invalidMfaCode = () => new AuthError("invalid_mfa_code");

/**
 * KEYS: the user's last-step key. ARGV: the step, TTL seconds. Accepts a step only when it is later
 * than every step accepted before (so neither the same code twice nor an older code of the window
 * after a newer one), and records it. Returns 1 when accepted, 0 for a replay.
 */
const CLAIM_STEP: KvScript = {
  source: `
local last = tonumber(redis.call('GET', KEYS[1]) or '-1') or -1
local step = tonumber(ARGV[1])
if step <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
`,
};

/**
 * How long the last accepted step is remembered, seconds: past that every code it could replay is
 * outside the window anyway (the window spans 2 × {@link TOTP_WINDOW_STEPS} + 1 steps).
 */
const STEP_MEMORY_SECONDS = (2 * TOTP_WINDOW_STEPS + 2) * TOTP_PERIOD_SECONDS;

/**
 * Accepts a TOTP code of `secret` at the deps' clock: the code of the current step or one step
 * either side, and only for a step later than any this user passed before (one atomic script:
 * two concurrent requests with the same code cannot both pass).
 * @returns whether the code passed.
 */
export async function acceptTotp(
  deps: DepsOf<readonly ["kv", "nowMs"]>,
  kind: string,
  userId: string,
  secret: string,
  code: string,
): Promise<boolean> {
  const step = matchTotp(secret, code.replace(/\s/g, ""), deps.nowMs());
  if (step === null) return false;
  const claimed = await deps.kv.evalScript(
    CLAIM_STEP,
    [redisKeys.mfaTotpStep(kind, userId)],
    [step, STEP_MEMORY_SECONDS],
  );
  return Number(claimed) === 1;
}

/**
 * Spends a recovery code: when `code` matches one of the account's unused codes, that code's hash
 * is removed from the stored state (compare-and-set, retried on a lost race with a fresh read, so
 * two concurrent uses of one code cannot both pass).
 * @returns whether a code was spent.
 * @throws AuthError `conflict` (409) when concurrent writes kept winning.
 */
export async function spendRecoveryCode(
  deps: DepsOf<readonly ["otpKey", "ring", "store"]>,
  kind: string,
  userId: string,
  code: string,
): Promise<boolean> {
  let spent = false;
  await updateWithRetry(deps, kind, userId, async (record) => {
    spent = false;
    const state = await openMfaState(deps.ring, kind, record);
    if (!state) return null;
    const index = findRecoveryCode(deps.otpKey, { kind, userId }, state.recoveryCodes, code);
    if (index < 0) return null;
    spent = true;
    const next: MfaState = { ...state, recoveryCodes: state.recoveryCodes.filter((_, i) => i !== index) };
    return sealMfaState(deps.ring, kind, record, next);
  });
  return spent;
}
