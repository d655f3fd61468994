import { randomId } from "../crypto/random";
import { wrongPassword } from "./delete-account";
import type { DepsOf } from "./deps";
import { type AttemptSource, reserveAttempt } from "./login";
import { hasFactor, openMfaState } from "./mfa-state";
import { assertAcceptablePassword, NEW_PASSWORD_DEPS, passwordStamp, storeNewPassword } from "./new-password";
import { type SessionTokens, startSession } from "./refresh-tokens";
import { missingToken, type Principal, revokedToken } from "./sessions";
import { openUser } from "./user-codec";

/** The dependencies this module's use-case reads (built lazily: see `shared/wiring/account-deps.ts`). */
export const CHANGE_PASSWORD_DEPS = [
  ...NEW_PASSWORD_DEPS,
  "hasher",
  "loginThrottle",
  "ring",
  "tokens",
] as const;
type ChangePasswordDeps = DepsOf<typeof CHANGE_PASSWORD_DEPS>;

/**
 * Changes the caller's own password (OWASP Authentication Cheat Sheet: re-authenticate for
 * sensitive actions; Session Management: renew sessions after a password change).
 *
 * 1. An attempt is reserved on the login throttle of the account (same budgets as login, so a stolen
 *    token is no guessing oracle: F6), then the current password is verified (Argon2id) on the
 *    token's subject; wrong → 403 (the attempt stays counted), right → the reservation is released.
 * 2. The new one must pass the registration policy (422 `weak_password` with reasons).
 * 3. The hash is stored only if the password did not change meanwhile; then every access and
 *    refresh token issued so far — including the one making this request — is revoked (the
 *    credential epoch advances), the profile cache dropped, and the address on record is told.
 * 4. A new session (access + refresh token) bound to the epoch this change produced, with the
 *    caller's own `amr` (a password change never adds or passes a second factor), is returned,
 *    so the device that made the change stays signed in while every other one is signed out; any
 *    later revocation (another change, log out everywhere) ends it as well.
 *
 * @param source the client address of the request (for the per-(account, address) budget).
 * @throws AuthError `too_many_attempts` (429), `incorrect_password` (403), `weak_password` / `password_too_long` (422),
 *   `unauthorized` (401) when the account no longer exists.
 */
export async function changePassword(
  deps: ChangePasswordDeps,
  principal: Principal,
  currentPassword: string,
  newPassword: string,
  source: AttemptSource,
): Promise<SessionTokens> {
  const { kind, userId } = principal;
  const record = await deps.store.findById(kind, userId);
  if (!record) throw missingToken();
  // A session that never passed the second factor gets no new one (enrolment ends every such
  // session, so this only guards against a token older than the rule).
  if (!principal.amr.includes("mfa") && hasFactor(await openMfaState(deps.ring, kind, record))) {
    throw revokedToken();
  }
  const attempt = await reserveAttempt(deps, kind, record.emailIndex, source);
  if (!(await deps.hasher.verify(record.passwordHash, currentPassword))) throw wrongPassword();
  await deps.loginThrottle.succeeded(attempt);
  const profile = await openUser(deps.ring, kind, record);
  await assertAcceptablePassword(deps, newPassword, profile, "new_password");
  const passwordHash = await deps.hasher.hash(newPassword);
  const updated = await storeNewPassword(deps, kind, userId, passwordHash, profile, {
    expectedStamp: passwordStamp(record.passwordHash),
    dedupId: `password_changed:${kind}:${randomId("chg")}`,
  });
  // Lost to a concurrent change: the caller proved a password that is no longer current.
  if (!updated) throw wrongPassword();
  // The new session keeps the caller's factor level: a password change never passes a second factor.
  return startSession(deps, kind, userId, updated.epoch, principal.amr);
}
