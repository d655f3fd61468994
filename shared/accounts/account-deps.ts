import { accessTokenOptions } from "../config/access-tokens";
import { createBlindIndex } from "../crypto/blind-index";
import { loadPasswordHasher } from "../crypto/password";
import { createAccessTokens } from "../crypto/tokens";
import { createNotifier } from "../notifications/messages";
import type { Queue } from "../ports/notifications";
import type { Services } from "../services";
import { createBloomFilter } from "./bloom-filter";
import type { AccountDeps, EmailBloom, PasswordPolicyPort } from "./deps";
import { redisKeys } from "./keys";
import { createLoginThrottle } from "./login-throttle";
import { deriveOtpKey } from "./otp-keys";
import type { PasswordPolicy, PasswordPolicyOptions } from "./password-policy";

/** How long a decrypted profile may be served from the (encrypted) Redis cache, in seconds. */
export const PROFILE_CACHE_TTL_SECONDS = 300;

/** The password policy, its module (and zxcvbn's dictionaries) imported on the first check only. */
function lazyPasswordPolicy(options: PasswordPolicyOptions): PasswordPolicyPort {
  let policy: Promise<PasswordPolicy> | undefined;
  return {
    async check(password, context) {
      policy ??= import("./password-policy").then((m) => m.createPasswordPolicy(options));
      return (await policy).check(password, context);
    },
  };
}

/**
 * Builds the account use-cases' dependencies from the services container: imports keys once
 * (key ring, JWT keys, blind-index key), loads the Argon2 backend (native where it loads), and
 * wires the queue, Bloom filters, password policy and login throttle. Called once per cold start.
 *
 * @param queue the queue port (QStash adapter in every environment; the local emulator in dev).
 */
export async function buildAccountDeps(services: Services, queue: Queue): Promise<AccountDeps> {
  const { config, log } = services;
  const [store, ring, hasher, tokens] = await Promise.all([
    services.store(),
    services.keyRing(),
    loadPasswordHasher({
      backend: config.password.backend,
      params: {
        memoryKiB: config.password.memoryKiB,
        iterations: config.password.iterations,
        parallelism: config.password.parallelism,
      },
      maxPasswordBytes: config.password.maxBytes,
      onNativeUnavailable: () => log.warn("native Argon2 unavailable; using hash-wasm", { backend: "wasm" }),
    }),
    createAccessTokens(accessTokenOptions(config)),
  ]);
  const kv = services.kv();
  const blooms = new Map<string, EmailBloom>();
  return {
    store,
    kv,
    ring,
    hasher,
    tokens,
    blindIndex: createBlindIndex(config.blindIndexKey),
    emailBloom: (kind) => {
      let bloom = blooms.get(kind);
      if (!bloom) {
        bloom = createBloomFilter(kv, {
          key: redisKeys.emailBloom(kind),
          capacity: config.bloom.capacity,
          falsePositiveRate: config.bloom.falsePositiveRate,
        });
        blooms.set(kind, bloom);
      }
      return bloom;
    },
    notifier: createNotifier(queue, ring),
    passwordPolicy: lazyPasswordPolicy({
      minLength: config.password.minLength,
      maxBytes: config.password.maxBytes,
      minScore: config.password.minScore,
    }),
    loginThrottle: createLoginThrottle(kv),
    otpKey: deriveOtpKey(config.blindIndexKey),
    audit: services.audit(),
    settings: {
      appUrl: config.appUrl,
      verifyEmailTtlSeconds: config.tokens.verifyEmailTtlSeconds,
      passwordResetTtlSeconds: config.tokens.passwordResetTtlSeconds,
      accessTokenTtlSeconds: config.jwt.accessTokenTtlSeconds,
      profileCacheTtlSeconds: PROFILE_CACHE_TTL_SECONDS,
      refreshTtlSeconds: config.tokens.refreshTtlSeconds,
      refreshReuseGraceSeconds: config.tokens.refreshReuseGraceSeconds,
      otpResendCooldownSeconds: config.otp.resendCooldownSeconds,
      otpDailyLimitPerPhone: config.otp.dailyLimitPerPhone,
    },
    nowMs: () => Date.now(),
  };
}
