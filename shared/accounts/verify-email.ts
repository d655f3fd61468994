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
 * `verify_email` purpose and deleted in the same step (GETDEL), so it works exactly once; a
 * password-reset token can never be found here. Marks the email verified and mails a welcome.
 *
 * @throws AuthError `invalid_or_expired_token` (400).
 */
export async function verifyEmail(
  deps: VerifyEmailDeps,
  kind: string,
  token: string,
): Promise<{ userId: string }> {
  const userId = await deps.kv.getdel(redisKeys.oneTimeToken(kind, "verify_email", hashOpaqueToken(token)));
  if (!userId) throw invalidVerificationLink();
  const updated = await updateWithRetry(deps, kind, userId, (record) =>
    record.emailVerified ? null : { emailVerified: true },
  );
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
