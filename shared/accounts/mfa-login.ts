/**
 * The login's second step (DESIGN.md §10, issue #16). A correct password on an account with an
 * enrolled factor answers 403 `mfa_required` with an MFA token instead of a session
 * (`mfaRequired` in `mfa-tokens.ts`); the session comes only from {@link verifySecondFactor}, which
 * checks a TOTP code, an SMS code sent by {@link challengeSms}, or a recovery code.
 *
 * Rules:
 * - every code is reserved on the login throttle of the account (per (account, address) and per
 *   account, as passwords are: `login-throttle.ts`) BEFORE it is checked; a wrong code keeps its
 *   attempt counted, and so does the password attempt that led here until a code passes, so
 *   passwords and codes share one budget: a stolen password buys no extra guesses, and logging
 *   in again does not reset the count;
 * - {@link MFA_TOKEN_MAX_CODES} wrong codes end the token (log in again), and the first wrong one
 *   mails the owner (their password is known to someone);
 * - the token is consumed atomically on success (single use); the session is bound to the
 *   credential epoch read before the password was verified, so a reset meanwhile ends it;
 * - the access token's `amr` says what was used (RFC 8176): `pwd` plus `otp` (TOTP) or `sms`,
 *   and `mfa`; a recovery code gives `["pwd","mfa"]`.
 */
import { AuthError } from "../errors";
import type { UserRecord } from "../ports/user-store";
import type { DepsOf } from "./deps";
import { redisKeys } from "./keys";
import { type AttemptSource, reserveAttempt } from "./login";
import { acceptTotp, invalidMfaCode, spendRecoveryCode } from "./mfa-codes";
import { MFA_NOTICE_DEPS, sendMfaNotice } from "./mfa-notices";
import { acceptMfaSmsCode, MFA_SMS_DEPS, sendMfaSmsCode } from "./mfa-sms";
import { hasFactor, type MfaMethod, type MfaState, methodsOf, openMfaState } from "./mfa-state";
import {
  consumeMfaToken,
  dropMfaToken,
  type FoundMfaToken,
  findMfaToken,
  invalidMfaToken,
  MFA_TOKEN_TTL_SECONDS,
} from "./mfa-tokens";
import { type Amr, type SessionTokens, startSession } from "./refresh-tokens";
import { readCredentialEpoch } from "./sessions";
import { openUser } from "./user-codec";

/** Where a second-factor request comes from, and who it turned out to be about (for the audit trail). */
export interface MfaRequestSource extends AttemptSource {
  /** Called with the account's id once the MFA token names it, before any code is checked. */
  identified?(userId: string): void;
}

/** Wrong codes one MFA token survives; the next wrong one ends it. */
export const MFA_TOKEN_MAX_CODES = 5;

/** The dependencies of {@link verifySecondFactor}. */
export const MFA_VERIFY_DEPS = [
  ...MFA_NOTICE_DEPS,
  "kv",
  "loginThrottle",
  "nowMs",
  "otpKey",
  "settings",
  "store",
  "tokens",
] as const;
type MfaVerifyDeps = DepsOf<typeof MFA_VERIFY_DEPS>;

/** The dependencies of {@link challengeSms}. */
export const MFA_CHALLENGE_DEPS = [...MFA_SMS_DEPS, "nowMs", "ring", "store"] as const;
type MfaChallengeDeps = DepsOf<typeof MFA_CHALLENGE_DEPS>;

/** The `amr` (RFC 8176 §2) of a session whose second factor was passed with `method`. */
export function amrFor(method: MfaMethod): Amr {
  if (method === "totp") return ["pwd", "otp", "mfa"];
  if (method === "sms") return ["pwd", "sms", "mfa"];
  return ["pwd", "mfa"];
}

/**
 * The account and second-factor state behind a live MFA token.
 * @throws AuthError `invalid_mfa_token` (401) when the account is gone or has no factor any more,
 *   `mfa_method_not_enrolled` (422) when `method` cannot be used for it.
 */
async function accountOf(
  deps: DepsOf<readonly ["ring", "store"]>,
  kind: string,
  found: FoundMfaToken,
  method: MfaMethod,
): Promise<{ user: UserRecord; state: MfaState }> {
  const user = await deps.store.findById(kind, found.record.userId);
  if (!user) throw invalidMfaToken();
  const state = await openMfaState(deps.ring, kind, user);
  if (!hasFactor(state)) throw invalidMfaToken();
  if (!methodsOf(state).includes(method)) throw new AuthError("mfa_method_not_enrolled");
  return { user, state };
}

/**
 * `POST /{kind}/mfa/challenge` with `method: "sms"`: sends a code to the account's verified phone
 * for this MFA token, through the same SMS guard as phone verification (`mfa-sms.ts`).
 * @throws AuthError `invalid_mfa_token` (401), `mfa_method_not_enrolled` (422), `phone_not_verified`
 *   (409), and the SMS guard's refusals (422 country or number type, 429 cool-down and budgets,
 *   503 `sms_budget_exhausted`).
 */
export async function challengeSms(
  deps: MfaChallengeDeps,
  kind: string,
  mfaToken: string,
  source: MfaRequestSource,
): Promise<void> {
  const found = await findMfaToken(deps, kind, mfaToken);
  source.identified?.(found.record.userId);
  const { user } = await accountOf(deps, kind, found, "sms");
  const profile = await openUser(deps.ring, kind, user);
  if (!user.phoneVerified) throw new AuthError("phone_not_verified");
  await sendMfaSmsCode(deps, kind, user.id, found.hash, profile.phone);
}

/**
 * `POST /{kind}/mfa/verify`: exchanges a live MFA token and a code of `method` for a session (see
 * the file comment for the rules).
 * @returns the usual token pair; the access token's `amr` is {@link amrFor}(method).
 * @throws AuthError `invalid_mfa_token` (401), `too_many_attempts` (429), `invalid_mfa_code` (400),
 *   `mfa_method_not_enrolled` (422).
 */
export async function verifySecondFactor(
  deps: MfaVerifyDeps,
  kind: string,
  mfaToken: string,
  method: MfaMethod,
  code: string,
  source: MfaRequestSource,
): Promise<SessionTokens> {
  const found = await findMfaToken(deps, kind, mfaToken);
  source.identified?.(found.record.userId);
  const { user, state } = await accountOf(deps, kind, found, method);
  const attempt = await reserveAttempt(deps, kind, found.record.emailIndex, source);
  const passed =
    method === "totp"
      ? await acceptTotp(deps, kind, user.id, (state.totp as { secret: string }).secret, code)
      : method === "sms"
        ? await acceptMfaSmsCode(deps, kind, user.id, found.hash, code.trim())
        : await spendRecoveryCode(deps, kind, user.id, code);
  if (!passed) {
    await wrongCode(deps, kind, found, user);
    throw invalidMfaCode();
  }
  await consumeMfaToken(deps, kind, found);
  await deps.loginThrottle.succeeded(attempt);
  if ((await readCredentialEpoch(deps, kind, user.id)) !== found.record.epoch) throw invalidMfaToken();
  if (method === "recovery_code") await sendMfaNotice(deps, kind, user, "recovery_code_used", found.hash);
  return startSession(deps, kind, user.id, found.record.epoch, amrFor(method));
}

/** A wrong code: counted on the token (it dies after {@link MFA_TOKEN_MAX_CODES}), the owner told once per token. */
async function wrongCode(deps: MfaVerifyDeps, kind: string, found: FoundMfaToken, user: UserRecord) {
  const wrong = await deps.kv.incr(redisKeys.mfaTokenAttempts(kind, found.hash), MFA_TOKEN_TTL_SECONDS);
  if (wrong >= MFA_TOKEN_MAX_CODES) await dropMfaToken(deps, kind, found.hash);
  await sendMfaNotice(deps, kind, user, "verification_failed", found.hash);
}
