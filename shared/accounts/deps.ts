import type { KeyRing } from "../crypto/envelope";
import type { PasswordHasher } from "../crypto/password";
import type { AccessTokens } from "../crypto/tokens";
import type { Notifier } from "../notifications/messages";
import type { AuditRecorder } from "../observability/audit";
import type { EmailBloom, LoginThrottlePort, PasswordPolicyPort } from "../ports/accounts";
import type { Kv } from "../ports/kv";
import type { UserStore } from "../ports/user-store";
import type { SmsGuard } from "./sms-guard";

/** Settings the account use-cases read (a slice of the configuration). Units in the names. */
export interface AccountSettings {
  /** Public base URL for links in mail (never the request's Host header). */
  appUrl: string;
  /** Product name (`APP_NAME`): the issuer an authenticator app shows for a TOTP secret. */
  appName: string;
  verifyEmailTtlSeconds: number;
  /** The longest accepted password, bytes of UTF-8 (`PASSWORD_MAX_BYTES`). */
  passwordMaxBytes: number;
  passwordResetTtlSeconds: number;
  accessTokenTtlSeconds: number;
  /** How long a decrypted-then-re-encrypted profile stays in the Redis cache. */
  profileCacheTtlSeconds: number;
  /** Lifetime of each refresh token from its issue (rotation gives the successor a fresh one). */
  refreshTtlSeconds: number;
  /**
   * How long after a rotation a retry with the same refresh token, FROM THE SAME CLIENT, still gets
   * the same successor.
   */
  refreshReuseGraceSeconds: number;
  /** Absolute lifetime of a session (refresh-token family) from its login; rotation never extends it. */
  sessionMaxLifetimeSeconds: number;
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
  /** Destination rules and budgets every SMS passes before it is queued (`sms-guard.ts`). */
  smsGuard: SmsGuard;
  /**
   * Records security events the HTTP layer cannot see (e.g. refresh-token reuse). Never throws:
   * a failed write is logged and swallowed there (see `observability/audit.ts`).
   */
  audit: AuditRecorder;
  settings: AccountSettings;
  /** Current time, epoch milliseconds. */
  nowMs(): number;
}

/** The named members of {@link AccountDeps}, e.g. `DepsOf<typeof LOGIN_DEPS>` for a use-case's list. */
export type DepsOf<T extends readonly (keyof AccountDeps)[]> = Pick<AccountDeps, T[number]>;
