import { hashOpaqueToken } from "../crypto/random";
import { AuthError } from "../errors";
import { rateLimitSubject } from "../http/client-address";
import type { DepsOf } from "./deps";
import type { ResetTokenRecord } from "./forgot-password";
import { redisKeys } from "./keys";
import type { AttemptSource } from "./login";
import { assertAcceptablePassword, NEW_PASSWORD_DEPS, passwordStamp, storeNewPassword } from "./new-password";
import { openUser } from "./user-codec";

/** The dependencies this module's use-case reads (built lazily: see `shared/wiring/account-deps.ts`). */
export const RESET_PASSWORD_DEPS = [...NEW_PASSWORD_DEPS, "hasher", "loginThrottle", "ring"] as const;
type ResetPasswordDeps = DepsOf<typeof RESET_PASSWORD_DEPS>;

/** 400 for a reset link that is unknown, used, expired or outdated (one answer for all). */
export const invalidResetLink = () =>
  new AuthError("invalid_or_expired_token", { detail: "This password reset link is invalid or has expired" });

function parseRecord(raw: string | null): ResetTokenRecord | null {
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as Partial<ResetTokenRecord>;
    return typeof v.userId === "string" && typeof v.stamp === "string"
      ? { userId: v.userId, stamp: v.stamp }
      : null;
  } catch {
    return null;
  }
}

/**
 * Completes a password reset with the token from the mailed link (DESIGN.md §5, §9; OWASP Forgot
 * Password Cheat Sheet).
 *
 * - The token is looked up by SHA-256 under the `password_reset` purpose only (an email
 *   verification token is never found here, nor a reset token by `/verify`).
 * - The new password must pass the registration policy; a weak one is refused with 422 WITHOUT
 *   using up the link, so the user can try again.
 * - The write happens only while the password is still the one the link was issued for (its
 *   stamp), so of two concurrent uses exactly one writes, and any other password change since
 *   makes the link useless. The token is deleted after the write, never before: a write that
 *   failed (409 `conflict`, 503) does not use up the link.
 * - Success: Argon2id hash stored, email marked verified (the link proved the address), every
 *   access and refresh token revoked, profile cache dropped, the account's login lockout cleared
 *   (and that of the (account, address) pair the reset comes from, when `source` is given), and "your password was changed" mailed to the address on record.
 *
 * @param source the client address of the reset request (the owner's, who proved the mailbox).
 * @throws AuthError `invalid_or_expired_token` (400), `weak_password` / `password_too_long` (422),
 *   `conflict` (409); KvUnavailableError (503) when Redis fails.
 */
export async function resetPassword(
  deps: ResetPasswordDeps,
  kind: string,
  token: string,
  newPassword: string,
  source?: AttemptSource,
): Promise<{ userId: string }> {
  const tokenHash = hashOpaqueToken(token);
  const key = redisKeys.oneTimeToken(kind, "password_reset", tokenHash);
  const raw = await deps.kv.get(key);
  const link = parseRecord(raw);
  if (!link) throw invalidResetLink();
  const record = await deps.store.findById(kind, link.userId);
  if (!record || passwordStamp(record.passwordHash) !== link.stamp) {
    await deps.kv.del(key);
    throw invalidResetLink();
  }
  const profile = await openUser(deps.ring, kind, record);
  await assertAcceptablePassword(deps, newPassword, profile, "password");
  const passwordHash = await deps.hasher.hash(newPassword);
  // The link is consumed only once the new password is stored (issue #14 item 5, F7): a write that
  // fails (409 conflict, 503 store or Redis) leaves it usable. Single use still holds: the write
  // happens only while the stored hash has the link's stamp, so of concurrent uses exactly one
  // writes and the others find the stamp changed.
  const updated = await storeNewPassword(deps, kind, link.userId, passwordHash, profile, {
    expectedStamp: link.stamp,
    dedupId: `password_changed:${kind}:${tokenHash}`,
    extra: { emailVerified: true },
  });
  await deps.kv.del(key);
  if (!updated) throw invalidResetLink();
  const subject = source ? rateLimitSubject(source.clientAddress) : undefined;
  await deps.loginThrottle.reset(kind, record.emailIndex, subject);
  return { userId: link.userId };
}
