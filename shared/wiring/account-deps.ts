import { createBloomFilter } from "../accounts/bloom-filter";
import type { AccountDeps } from "../accounts/deps";
import { redisKeys } from "../accounts/keys";
import { createLoginThrottle } from "../accounts/login-throttle";
import { deriveOtpKey } from "../accounts/otp-keys";
import type { PasswordPolicy, PasswordPolicyOptions } from "../accounts/password-policy";
import { accessTokenOptions } from "../config/access-tokens";
import type { Config } from "../config/schema";
import { createBlindIndex } from "../crypto/blind-index";
import type { KeyRing } from "../crypto/envelope";
import type { LoadPasswordHasherOptions, PasswordHasher } from "../crypto/password";
import { createAccessTokens } from "../crypto/tokens";
import { createNotifier } from "../notifications/messages";
import type { AuditRecorder } from "../observability/audit";
import { smsRefusalSeries } from "../observability/http-metrics";
import type { Logger } from "../observability/logger";
import type { Metrics } from "../observability/metrics";
import type { EmailBloom, PasswordPolicyPort } from "../ports/accounts";
import type { Kv } from "../ports/kv";
import type { Queue } from "../ports/notifications";
import type { UserStore } from "../ports/user-store";

/**
 * At most one `bloom_filter_missing` warning per kind per this many seconds and instance: a lost
 * filter makes every probe find it missing, and one line a minute says so as well as thousands.
 */
export const BLOOM_MISSING_WARN_INTERVAL_SECONDS = 60;

/** How long a decrypted profile may be served from the (encrypted) Redis cache, in seconds. */
export const PROFILE_CACHE_TTL_SECONDS = 300;

/**
 * What only the functions that handle passwords bring (so no other function's bundle contains the
 * Argon2 backends or zxcvbn's dictionaries: `shared/wiring/passwords.ts` exports both sets).
 */
export interface PasswordCapabilities {
  /** Loads the hasher: `loadPasswordHasher` of `shared/crypto/password` (functions that hash or verify). */
  passwordHasher?: (options: LoadPasswordHasherOptions) => Promise<PasswordHasher>;
  /** Builds the password policy (functions that set a password); imported on the first check. */
  passwordPolicy?: (options: PasswordPolicyOptions) => Promise<PasswordPolicy>;
}

/** A member this function was not given the capability for: a wiring fault, reported loudly. */
const missingCapability = (name: string) =>
  new Error(`this function was built without ${name}: pass it to its context (shared/wiring/passwords.ts)`);

/** The password policy, built on the first check only. */
function lazyPasswordPolicy(
  build: PasswordCapabilities["passwordPolicy"],
  options: PasswordPolicyOptions,
): PasswordPolicyPort {
  let policy: Promise<PasswordPolicy> | undefined;
  return {
    async check(password, context) {
      if (!build) throw missingCapability("a password policy");
      policy ??= build(options);
      return (await policy).check(password, context);
    },
  };
}

/** The parts the account dependencies are built from (each resolved on first use). */
export interface AccountDepsParts extends PasswordCapabilities {
  config: Config;
  log: Logger;
  kv(): Kv;
  store(): Promise<UserStore>;
  keyRing(): Promise<KeyRing>;
  queue(): Promise<Queue>;
  audit(): AuditRecorder;
  /** Cross-instance counters (SMS refusals are counted there); nothing is counted without it. */
  metrics?: () => Metrics;
  /**
   * The clock the use-cases, the login throttle and the access tokens (issue and verify) read,
   * epoch milliseconds: one clock, so a token issued at a moved time is checked at that time too.
   * Tests inject a clock they move by hand, so cool-downs and lock expiries run without waiting.
   * @default Date.now
   */
  nowMs?: () => number;
}

type Builders = { [K in keyof AccountDeps]: () => AccountDeps[K] | Promise<AccountDeps[K]> };

/**
 * The account use-cases' dependencies, each member built on its first request and reused
 * (DESIGN.md §2: a function loads only what its requests use — a profile read imports keys and
 * reads Redis, but never loads the Argon2 backend, zxcvbn or the QStash client). Members:
 * the Argon2 hasher (native where it loads), access tokens (JWT keys imported once), the blind
 * index, Bloom filters per kind, the notifier (queue + key ring), the password policy, the login
 * throttle, the OTP key, the SMS guard, the audit recorder and the settings slice of the configuration.
 *
 * @returns `get(...members)`, resolving the named members; a failed build is retried next time.
 */
export function createAccountDeps(parts: AccountDepsParts) {
  const { config, log } = parts;
  const nowMs = parts.nowMs ?? (() => Date.now());
  const blooms = new Map<string, EmailBloom>();
  const bloomMissingWarnedAtMs = new Map<string, number>();
  // Rebuilding the filter is a scheduled job's work (issue #15); until it exists, a missing filter
  // is logged so an operator sees why logins and registrations read the store on every attempt.
  const warnBloomMissing = (kind: string) => {
    const now = nowMs();
    const last = bloomMissingWarnedAtMs.get(kind);
    if (last !== undefined && now - last < BLOOM_MISSING_WARN_INTERVAL_SECONDS * 1000) return;
    bloomMissingWarnedAtMs.set(kind, now);
    log.warn("email Bloom filter missing: every probe falls back to the store until it is rebuilt", {
      event: "bloom_filter_missing",
      kind,
    });
  };
  const builders: Builders = {
    store: () => parts.store(),
    kv: () => parts.kv(),
    ring: () => parts.keyRing(),
    hasher: () => {
      if (!parts.passwordHasher) throw missingCapability("a password hasher");
      return parts.passwordHasher({
        backend: config.password.backend,
        params: {
          memoryKiB: config.password.memoryKiB,
          iterations: config.password.iterations,
          parallelism: config.password.parallelism,
        },
        maxPasswordBytes: config.password.maxBytes,
        onNativeUnavailable: () =>
          log.warn("native Argon2 unavailable; using hash-wasm", { backend: "wasm" }),
      });
    },
    tokens: () => createAccessTokens({ ...accessTokenOptions(config), nowMs }),
    blindIndex: () => createBlindIndex(config.blindIndexKey),
    emailBloom: () => (kind: string) => {
      let bloom = blooms.get(kind);
      if (!bloom) {
        bloom = createBloomFilter(parts.kv(), {
          key: redisKeys.emailBloom(kind),
          capacity: config.bloom.capacity,
          falsePositiveRate: config.bloom.falsePositiveRate,
          onMissing: () => warnBloomMissing(kind),
        });
        blooms.set(kind, bloom);
      }
      return bloom;
    },
    notifier: async () => createNotifier(await parts.queue(), await parts.keyRing()),
    passwordPolicy: () =>
      lazyPasswordPolicy(parts.passwordPolicy, {
        minLength: config.password.minLength,
        maxBytes: config.password.maxBytes,
        minScore: config.password.minScore,
      }),
    loginThrottle: () => createLoginThrottle(parts.kv(), { ...config.loginLock, now: nowMs }),
    otpKey: () => deriveOtpKey(config.blindIndexKey),
    // Imported on first use: it brings libphonenumber's full metadata, which only SMS senders need.
    smsGuard: async () =>
      (await import("../accounts/sms-guard")).createSmsGuard(parts.kv(), {
        ...config.smsRules,
        numberDailyLimit: config.otp.dailyLimitPerPhone,
        otpKey: deriveOtpKey(config.blindIndexKey),
        // In memory only: the next request's count flushes it (metrics.ts), no write of its own.
        onRefused: (code, kind) => parts.metrics?.().record({ [smsRefusalSeries(code, kind)]: 1 }),
      }),
    audit: () => parts.audit(),
    settings: () => ({
      appUrl: config.appUrl,
      appName: config.appName,
      verifyEmailTtlSeconds: config.tokens.verifyEmailTtlSeconds,
      passwordMaxBytes: config.password.maxBytes,
      passwordResetTtlSeconds: config.tokens.passwordResetTtlSeconds,
      accessTokenTtlSeconds: config.jwt.accessTokenTtlSeconds,
      profileCacheTtlSeconds: PROFILE_CACHE_TTL_SECONDS,
      refreshTtlSeconds: config.tokens.refreshTtlSeconds,
      refreshReuseGraceSeconds: config.tokens.refreshReuseGraceSeconds,
      sessionMaxLifetimeSeconds: config.tokens.sessionMaxLifetimeSeconds,
      otpResendCooldownSeconds: config.otp.resendCooldownSeconds,
      otpDailyLimitPerPhone: config.otp.dailyLimitPerPhone,
    }),
    nowMs: () => nowMs,
  };
  const built = new Map<keyof AccountDeps, Promise<unknown>>();
  const member = (name: keyof AccountDeps): Promise<unknown> => {
    let pending = built.get(name);
    if (!pending) {
      const build: () => unknown = builders[name];
      pending = Promise.resolve().then(build);
      pending.catch(() => built.delete(name)); // no cached outage: the next request retries
      built.set(name, pending);
    }
    return pending;
  };
  return async function get<K extends keyof AccountDeps>(...members: K[]): Promise<Pick<AccountDeps, K>> {
    const values = await Promise.all(members.map(member));
    return Object.fromEntries(members.map((m, i) => [m, values[i]])) as Pick<AccountDeps, K>;
  };
}
