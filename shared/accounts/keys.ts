/**
 * Every Redis key the account use-cases write, in one place, namespaced per user kind
 * (DESIGN.md §3, §6). Values under these keys hold only ciphertext, hashes, ids or counters.
 */
export const redisKeys = {
  /** Encrypted profile cache of a user (ring envelope of the profile JSON). */
  profile: (kind: string, userId: string) => `${kind}:profile:${userId}`,
  /** Presence marks a revoked access token until its expiry. */
  revokedJti: (kind: string, jti: string) => `${kind}:revoked:jti:${jti}`,
  /**
   * LEGACY, read only: epoch seconds before which (inclusive) every token of the user is revoked.
   * Written by the wall-clock revocation this service used before the credential epoch (security
   * findings F1/F2); nothing writes it any more. Still honoured, so a token revoked that way is not
   * revived; every such mark expires on its own (TTL: longest token lifetime + 60 s after it was set).
   */
  revokedBefore: (kind: string, userId: string) => `${kind}:revoked:before:${userId}`,
  /**
   * The user's credential epoch (DESIGN.md §5, §9): a counter (INCR) that password reset and
   * change, log-out-everywhere and deletion advance. Absent reads as 0. No TTL while the account
   * exists (a lost counter would revive revoked sessions); deletion gives it one.
   */
  credentialEpoch: (kind: string, userId: string) => `${kind}:cep:${userId}`,
  /** One-time action token, by purpose and SHA-256 of the token; value is the user id. */
  oneTimeToken: (kind: string, purpose: OneTimePurpose, tokenHash: string) =>
    `${kind}:ott:${purpose}:${tokenHash}`,
  /** Bloom filter of registered email blind indexes. */
  emailBloom: (kind: string) => `${kind}:bloom:email`,
  /** Refresh token record by SHA-256 of the token. */
  refreshToken: (kind: string, tokenHash: string) => `${kind}:rt:${tokenHash}`,
  /**
   * Rotation claim of a refresh token, by SHA-256 of the token: set (NX) when the token is used; the
   * value is the sealed successor token and the use time (see `refresh-tokens.ts`).
   */
  refreshTokenUsed: (kind: string, tokenHash: string) => `${kind}:rt:used:${tokenHash}`,
  /** Refresh token family state: present = the whole family is revoked. */
  refreshFamily: (kind: string, familyId: string) => `${kind}:rtf:${familyId}`,
  /** Current OTP state of a user. */
  otp: (kind: string, userId: string) => `${kind}:otp:${userId}`,
  /** Wrong-code counter of a user's current OTP (reset by every new send). */
  otpAttempts: (kind: string, userId: string) => `${kind}:otp:attempts:${userId}`,
  /** OTP send cool-down mark of a user. */
  otpCooldown: (kind: string, userId: string) => `${kind}:otp:cooldown:${userId}`,
  /** OTP daily send counter of a phone (keyed hash of the number). */
  otpDaily: (kind: string, phoneHash: string) => `${kind}:otp:daily:${phoneHash}`,
  /** SMS sent because of one account today, over all numbers (a counter; TTL one day from the first). */
  smsAccountDaily: (kind: string, userId: string) => `${kind}:sms:daily:acct:${userId}`,
  /** SMS sent to one number because of one account today (keyed hash of the number; TTL one day). */
  smsNumberAccountDaily: (kind: string, phoneHash: string, userId: string) =>
    `${kind}:sms:daily:num-acct:${phoneHash}:${userId}`,
  /** SMS the whole service sent this hour, every kind together (a counter; TTL one hour from the first). */
  smsHourlyBudget: () => "sms:budget:hourly",
  /**
   * A pending TOTP enrolment of a user: the new secret sealed with the key ring (AAD bound to kind
   * and user) until `mfa/totp/enable` confirms it with a code; TTL `MFA_SETUP_TTL_SECONDS`.
   */
  mfaPendingTotp: (kind: string, userId: string) => `${kind}:mfa:pending:${userId}`,
  /**
   * The last TOTP time step a user passed (RFC 6238 §5.2: never the same step twice); a counter
   * that only moves forward, TTL a few steps.
   */
  mfaTotpStep: (kind: string, userId: string) => `${kind}:mfa:step:${userId}`,
  /** An MFA token (the login's second step), by SHA-256 of the token; JSON state, TTL 5 minutes. */
  mfaToken: (kind: string, tokenHash: string) => `${kind}:mfa:token:${tokenHash}`,
  /** Wrong codes tried with one MFA token (it dies after a few). */
  mfaTokenAttempts: (kind: string, tokenHash: string) => `${kind}:mfa:token:attempts:${tokenHash}`,
  /** The SMS code sent for one MFA token (keyed hash bound to the token), TTL the token's. */
  mfaSmsCode: (kind: string, tokenHash: string) => `${kind}:mfa:sms:${tokenHash}`,
  /** Password-reset mail cool-down mark of a user (one reset mail per account per minute). */
  resetCooldown: (kind: string, userId: string) => `${kind}:reset:cooldown:${userId}`,
};

/** What a one-time action token is for; a token of one purpose is never found under another. */
export type OneTimePurpose = "verify_email" | "password_reset";

/**
 * Redis keys of the scheduled jobs (`shared/jobs/`), by job name (`bloom-rebuild`) and run id
 * (`[A-Za-z0-9_-]{1,64}`). Values hold counts, cursors (ids, blind indexes) and states, never PII.
 */
export const jobKeys = {
  /** The run's saved progress (JSON, see `shared/jobs/progress.ts`); expires a week after its last write. */
  progress: (job: string, runId: string) => `jobs:${job}:run:${runId}`,
  /** Held (SET NX EX) by the one delivery of the run that is working, so two never work at once. */
  lock: (job: string, runId: string) => `jobs:${job}:lock:${runId}`,
};
