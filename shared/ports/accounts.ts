/**
 * Ports the account use-cases need beyond storage and messaging: the registered-email Bloom filter,
 * the password policy and the password-attempt throttle (per account and per (account, address)). Types only; the implementations live in
 * `shared/accounts/` (on the `Kv` port) and are wired by `shared/wiring/`.
 */

/**
 * A Bloom filter over blind indexes (see `bloom-filter.ts`): may say "maybe" for absent items, never
 * "no" for present ones, and says "maybe" for everything when its bitmap is missing or empty (it is
 * only an optimisation; the store stays the authority).
 */
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

/**
 * One password attempt reserved by {@link LoginThrottlePort.reserve}: what `succeeded` needs to
 * release it. `subject` is the client's address subject (IPv4 address, IPv6 /64); `accountLock` the
 * account lock value this attempt set ("" if none).
 */
export interface LoginAttempt {
  kind: string;
  emailIndex: string;
  subject: string;
  accountLock: string;
}

/** Whether a password attempt may proceed (with its reservation), and if not, for how many more seconds not. */
export type LoginThrottleVerdict =
  | { allowed: true; attempt: LoginAttempt }
  | { allowed: false; retryAfterSeconds: number };

/**
 * Password-attempt throttle per account and per (account, client address), keyed by blind index;
 * see `login-throttle.ts` for the policy (OWASP Authentication Cheat Sheet; NIST SP 800-63B §5.2.2).
 */
export interface LoginThrottlePort {
  /**
   * Counts one attempt, atomically, before the password is verified (one Redis command). When not
   * allowed, nothing is counted and the caller must refuse without verifying (429
   * `too_many_attempts`, `Retry-After` = `retryAfterSeconds`). A failed verification needs no
   * further call: the reservation already counted it.
   * @param subject the client address subject (`rateLimitSubject(clientAddress)`).
   */
  reserve(kind: string, emailIndex: string, subject: string): Promise<LoginThrottleVerdict>;
  /** After a correct password: forgets the pair's attempts and lock, refunds the account attempt (one command). */
  succeeded(attempt: LoginAttempt): Promise<void>;
  /**
   * Forgets the account's attempts and lock, and the pair's when `subject` is given (after a
   * password reset by the owner): one DEL. Other pairs expire on their own.
   */
  reset(kind: string, emailIndex: string, subject?: string): Promise<void>;
}
