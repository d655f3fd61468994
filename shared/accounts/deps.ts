import type { KeyRing } from "../crypto/envelope";
import type { PasswordHasher } from "../crypto/password";
import type { AccessTokens } from "../crypto/tokens";
import type { Notifier } from "../notifications/messages";
import type { AuditRecorder } from "../observability/audit";
import type { Kv } from "../ports/kv";
import type { UserStore } from "../ports/user-store";

/** A Bloom filter over blind indexes (see `bloom-filter.ts`): may say "maybe" for absent items, never "no" for present ones. */
export interface EmailBloom {
  add(item: string): Promise<void>;
  mightContain(item: string): Promise<boolean>;
}

/**
 * Password policy (NIST SP 800-63B + zxcvbn); see `password-policy.ts`. Asynchronous because the
 * zxcvbn dictionaries (~850 KB gzipped) load on first use, so functions that never set a password
 * never pay for them.
 */
export interface PasswordPolicyPort {
  check(password: string, context: string[]): Promise<{ ok: true } | { ok: false; reasons: string[] }>;
}

/** Per-account login throttle keyed by blind index; see `login-throttle.ts`. */
export interface LoginThrottlePort {
  check(
    kind: string,
    emailIndex: string,
  ): Promise<{ allowed: true } | { allowed: false; retryAfterSeconds: number }>;
  recordFailure(kind: string, emailIndex: string): Promise<void>;
  reset(kind: string, emailIndex: string): Promise<void>;
}

/** Settings the account use-cases read (a slice of the configuration). Units in the names. */
export interface AccountSettings {
  /** Public base URL for links in mail (never the request's Host header). */
  appUrl: string;
  verifyEmailTtlSeconds: number;
  passwordResetTtlSeconds: number;
  accessTokenTtlSeconds: number;
  /** How long a decrypted-then-re-encrypted profile stays in the Redis cache. */
  profileCacheTtlSeconds: number;
  /** Lifetime of each refresh token from its issue (rotation gives the successor a fresh one). */
  refreshTtlSeconds: number;
  /** How long after a rotation a concurrent retry with the same refresh token still gets the same successor. */
  refreshReuseGraceSeconds: number;
  /** Minimum time between two SMS codes sent to one user. */
  otpResendCooldownSeconds: number;
  /** Most SMS codes sent to one phone number per day (over all users of a kind). */
  otpDailyLimitPerPhone: number;
}

/**
 * The ports and primitives every account use-case depends on. Built once per cold start by the
 * services container; tests build it from real adapters. No vendor SDK or driver appears here.
 */
export interface AccountDeps {
  store: UserStore;
  kv: Kv;
  ring: KeyRing;
  hasher: PasswordHasher;
  tokens: AccessTokens;
  /** Blind index of an email for a kind. @throws AuthError `invalid_email` for an unusable address. */
  blindIndex(kind: string, email: string): string;
  emailBloom(kind: string): EmailBloom;
  notifier: Notifier;
  passwordPolicy: PasswordPolicyPort;
  loginThrottle: LoginThrottlePort;
  /**
   * HMAC key (32 bytes) for SMS codes and phone-number tags, derived from the blind-index key
   * under its own label (`otp-keys.ts`), so it is never the blind-index key itself.
   */
  otpKey: Uint8Array;
  /**
   * Records security events the HTTP layer cannot see (e.g. refresh-token reuse). Never throws:
   * a failed write is logged and swallowed there (see `observability/audit.ts`).
   */
  audit: AuditRecorder;
  settings: AccountSettings;
  /** Current time, epoch milliseconds. */
  nowMs(): number;
}
