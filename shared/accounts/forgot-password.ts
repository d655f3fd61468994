import { createOpaqueToken } from "../crypto/random";
import type { UserRecord } from "../ports/user-store";
import type { DepsOf } from "./deps";
import { redisKeys } from "./keys";
import { passwordStamp } from "./new-password";
import { openUser } from "./user-codec";

/** The dependencies {@link} this module's use-case reads (built lazily: see `shared/wiring/account-deps.ts`). */
export const PASSWORD_RESET_REQUEST_DEPS = [
  "blindIndex",
  "kv",
  "notifier",
  "ring",
  "settings",
  "store",
] as const;
type PasswordResetRequestDeps = DepsOf<typeof PASSWORD_RESET_REQUEST_DEPS>;

/**
 * The least time a reset request takes, in milliseconds. The known-account path does more
 * (decrypt the address, store a token, publish to QStash: tens of milliseconds), so without a
 * floor the reply time would tell whether an email is registered (OWASP Forgot Password Cheat
 * Sheet: "ensure that responses return in a consistent amount of time").
 */
export const RESET_REQUEST_FLOOR_MS = 300;

/** At most one reset mail per account per this many seconds (no mail-bombing through the form). */
export const RESET_MAIL_COOLDOWN_SECONDS = 60;

/** What a password-reset token's record holds (JSON under `oneTimeToken(kind, "password_reset", sha256)`). */
export interface ResetTokenRecord {
  userId: string;
  /** `passwordStamp` of the password hash when the link was issued. */
  stamp: string;
}

/**
 * Starts a password reset for an email address (DESIGN.md §5, §9; OWASP Forgot Password Cheat Sheet).
 *
 * - The account is found by blind index; the store is read on every path (no Bloom-filter
 *   shortcut), and every reply waits until {@link RESET_REQUEST_FLOOR_MS} has passed, so an
 *   unknown, malformed-domain or known email cost the same and answer the same.
 * - For a known account: a 256-bit random token, stored only as its SHA-256 under the
 *   `password_reset` purpose with `passwordResetTtlSeconds` TTL, mailed as a link to the address
 *   ON RECORD (decrypted from the record; the typed address is never used to send) and built from
 *   the configured `appUrl` (never the Host header). An unverified address gets the link too:
 *   using it proves the address, so the reset marks it verified.
 * - At most one mail per account per {@link RESET_MAIL_COOLDOWN_SECONDS}; extra requests are
 *   silently absorbed (same answer).
 *
 * Never throws for an unknown or unusable address; only transport failures propagate (503/500).
 */
export async function requestPasswordReset(
  deps: PasswordResetRequestDeps,
  kind: string,
  email: string,
): Promise<void> {
  const startedMs = performance.now();
  try {
    let emailIndex: string | null = null;
    try {
      emailIndex = deps.blindIndex(kind, email);
    } catch {
      emailIndex = null; // an address no account can have: same answer as an unknown one
    }
    const user = emailIndex === null ? null : await deps.store.findByEmailIndex(kind, emailIndex);
    if (user) await mailResetLink(deps, kind, user);
  } finally {
    const waitMs = RESET_REQUEST_FLOOR_MS - (performance.now() - startedMs);
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

async function mailResetLink(deps: PasswordResetRequestDeps, kind: string, user: UserRecord): Promise<void> {
  const fresh = await deps.kv.set(redisKeys.resetCooldown(kind, user.id), "1", {
    nx: true,
    ttlSeconds: RESET_MAIL_COOLDOWN_SECONDS,
  });
  if (!fresh) return;
  const profile = await openUser(deps.ring, kind, user);
  const { token, hash } = createOpaqueToken();
  const record: ResetTokenRecord = { userId: user.id, stamp: passwordStamp(user.passwordHash) };
  await deps.kv.set(redisKeys.oneTimeToken(kind, "password_reset", hash), JSON.stringify(record), {
    ttlSeconds: deps.settings.passwordResetTtlSeconds,
  });
  const link = `${deps.settings.appUrl}/${kind}/reset_password_form?token=${encodeURIComponent(token)}`;
  await deps.notifier.notify(
    { type: "email.password_reset", kind, to: profile.email, name: profile.firstName, link },
    `password_reset:${kind}:${hash}`,
  );
}
