import { hashOpaqueToken } from "../crypto/random";
import { AuthError } from "../errors";
import type { DepsOf } from "./deps";
import { redisKeys } from "./keys";
import { invalidateProfile } from "./sessions";
import { updateWithRetry } from "./update-with-retry";
import { openUser } from "./user-codec";

/** The dependencies this module's use-case reads (built lazily: see `shared/wiring/account-deps.ts`). */
export const VERIFY_EMAIL_DEPS = ["kv", "notifier", "ring", "store"] as const;
type VerifyEmailDeps = DepsOf<typeof VERIFY_EMAIL_DEPS>;

/** 400 for a verification link that is unknown, used or expired (one answer for all three). */
export const invalidVerificationLink = () =>
  new AuthError("invalid_or_expired_token", { detail: "This verification link is invalid or has expired" });

/**
 * Consumes an email-verification token (DESIGN.md §5): looked up by its SHA-256 under the
 * `verify_email` purpose (a password-reset token can never be found here), marks the email
 * verified and mails a welcome, then deletes the token. It is deleted after the write, not before
 * (issue #14 item 5): a write that failed (409 `conflict`, 503) leaves the link usable. Marking
 * verified is idempotent, so two concurrent uses both succeed and the welcome goes out once (the
 * first write changes the record; the second finds it verified).
 *
 * @throws AuthError `invalid_or_expired_token` (400), `conflict` (409); KvUnavailableError (503).
 */
export async function verifyEmail(
  deps: VerifyEmailDeps,
  kind: string,
  token: string,
): Promise<{ userId: string }> {
  const key = redisKeys.oneTimeToken(kind, "verify_email", hashOpaqueToken(token));
  const userId = await deps.kv.get(key);
  if (!userId) throw invalidVerificationLink();
  const updated = await updateWithRetry(deps, kind, userId, (record) =>
    record.emailVerified ? null : { emailVerified: true },
  );
  await deps.kv.del(key);
  if (!updated) throw invalidVerificationLink(); // the account was deleted meanwhile
  await invalidateProfile(deps, kind, userId);
  if (updated.changed) {
    const profile = await openUser(deps.ring, kind, updated.record);
    await deps.notifier.notify(
      { type: "email.welcome", kind, to: profile.email, name: profile.firstName },
      `welcome:${kind}:${userId}`,
    );
  }
  return { userId };
}
