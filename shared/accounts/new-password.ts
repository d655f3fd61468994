/**
 * What setting a new password means, shared by password reset and password change: the same
 * policy as registration, then hash, store, revoke every older token, tell the owner.
 */
import { exceedsPasswordBytes, passwordTooLong } from "../crypto/password-limit";
import { hashOpaqueToken } from "../crypto/random";
import { AuthError } from "../errors";
import type { UserRecord } from "../ports/user-store";
import type { AccountDeps, DepsOf } from "./deps";
import { invalidateProfile, revokeAllSessions } from "./sessions";
import { updateWithRetry } from "./update-with-retry";
import type { UserProfile } from "./user-codec";

/** The dependencies this module's use-case reads (built lazily: see `shared/wiring/account-deps.ts`). */
export const NEW_PASSWORD_DEPS = ["kv", "notifier", "nowMs", "passwordPolicy", "settings", "store"] as const;
type NewPasswordDeps = DepsOf<typeof NEW_PASSWORD_DEPS>;

/**
 * Checks a new password against the registration policy: first the byte cap (its own answer,
 * `password_too_long`), then NIST SP 800-63B length and zxcvbn strength with the user's names and
 * email as context.
 * @throws AuthError `password_too_long` (422) over `settings.passwordMaxBytes` bytes of UTF-8;
 *   `weak_password` (422) with the reasons in `errors`, on `field`.
 */
export async function assertAcceptablePassword(
  deps: Pick<AccountDeps, "passwordPolicy" | "settings">,
  password: string,
  profile: Pick<UserProfile, "firstName" | "lastName" | "email">,
  field: string,
): Promise<void> {
  if (exceedsPasswordBytes(password, deps.settings.passwordMaxBytes)) {
    throw passwordTooLong(deps.settings.passwordMaxBytes);
  }
  const policy = await deps.passwordPolicy.check(password, [
    profile.firstName,
    profile.lastName,
    profile.email,
    profile.email.split("@")[0] ?? "",
  ]);
  if (!policy.ok) {
    throw new AuthError("weak_password", {
      extensions: { errors: policy.reasons.map((message) => ({ field, message, code: "weak_password" })) },
    });
  }
}

/**
 * A short fingerprint of a password hash (16 base64url chars of its SHA-256). A reset link records
 * the fingerprint of the hash current when it was issued, so any password change in between
 * (another reset, change_password) makes every older link useless.
 */
export function passwordStamp(passwordHash: string): string {
  return hashOpaqueToken(`password-stamp|${passwordHash}`).slice(0, 16);
}

/**
 * Stores a new password hash and ends every existing session (OWASP Forgot Password and Session
 * Management cheat sheets): the hash is written FIRST, then the user's credential epoch advanced,
 * so every access and refresh token issued so far is refused — including a login's that read the
 * epoch before this and verified the old password (a login reading the epoch after the advance
 * reads the new hash); the profile cache is dropped; the address on record is told.
 *
 * @param expectedStamp when given, the write happens only while the stored hash still has this
 *   {@link passwordStamp} (a reset link racing another password change loses).
 * @param extra further fields to set in the same write (a reset also proves the email address).
 * @returns the updated record and the user's new credential epoch (a session started with it
 *   survives this change), or `null` when the account is gone or the stamp no longer matches.
 * @throws whatever the Kv throws when Redis cannot answer the revocation (the caller answers 503).
 */
export async function storeNewPassword(
  deps: NewPasswordDeps,
  kind: string,
  userId: string,
  passwordHash: string,
  profile: Pick<UserProfile, "email" | "firstName">,
  options: { expectedStamp?: string; dedupId: string; extra?: { emailVerified?: true } },
): Promise<{ record: UserRecord; epoch: number } | null> {
  let stale = false;
  const result = await updateWithRetry(deps, kind, userId, (record) => {
    if (options.expectedStamp !== undefined && passwordStamp(record.passwordHash) !== options.expectedStamp) {
      stale = true;
      return null;
    }
    return { passwordHash, ...(options.extra ?? {}) };
  });
  if (!result || stale) return null;
  const epoch = await revokeAllSessions(deps, kind, userId);
  await invalidateProfile(deps, kind, userId);
  await deps.notifier.notify(
    { type: "email.password_changed", kind, to: profile.email, name: profile.firstName },
    options.dedupId,
  );
  return { record: result.record, epoch };
}
