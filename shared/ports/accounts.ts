/**
 * Ports the account use-cases need beyond storage and messaging: the registered-email Bloom filter,
 * the password policy and the per-account login throttle. Types only; the implementations live in
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

/** Per-account login throttle keyed by blind index; see `login-throttle.ts`. */
export interface LoginThrottlePort {
  check(
    kind: string,
    emailIndex: string,
  ): Promise<{ allowed: true } | { allowed: false; retryAfterSeconds: number }>;
  recordFailure(kind: string, emailIndex: string): Promise<void>;
  reset(kind: string, emailIndex: string): Promise<void>;
}
