import * as z from "zod";
import { intIn } from "./fields";
import { type Problem, type Section, settle } from "./section";

/** How passwords are hashed (Argon2id, OWASP defaults) and which ones are accepted. */
export interface PasswordConfig {
  password: {
    /** Argon2 implementation: `native` (`@node-rs/argon2`), `wasm` (`hash-wasm`), or `auto` (native if it loads). */
    backend: "auto" | "native" | "wasm";
    /** Argon2 memory cost, KiB. */
    memoryKiB: number;
    /** Argon2 time cost (passes). */
    iterations: number;
    /** Argon2 lanes. */
    parallelism: number;
    /** Passwords longer than this many UTF-8 bytes are refused before hashing. */
    maxBytes: number;
    /** Minimum length in characters (NIST SP 800-63B: ≥ 8). */
    minLength: number;
    /** Minimum zxcvbn score 0–4. */
    minScore: number;
  };
  /**
   * Password-guessing lockout (OWASP Authentication Cheat Sheet "Account lockout"; NIST SP
   * 800-63B §5.2.2): attempts are counted per (account, client address) and per account, each
   * reserved before the password is verified; see `shared/accounts/login-throttle.ts`.
   */
  loginLock: {
    /** Attempts per (account, client address, IPv6 by /64) that lock that pair. */
    perAddress: number;
    /** Attempts per account from all addresses together that lock the whole account (much higher). */
    perAccount: number;
    /** Attempts are counted over this many seconds. */
    windowSeconds: number;
    /** The first lock lasts this many seconds; each further attempt doubles it. */
    baseDelaySeconds: number;
    /** Upper bound of one lock, seconds. */
    maxDelaySeconds: number;
  };
}

/**
 * Default of `PASSWORD_MAX_BYTES`: the longest accepted password, in bytes of UTF-8. The request
 * schemas advertise it at module load (`shared/http/account-schemas.ts`); the OpenAPI document is
 * then given the configured value (`infra/openapi.ts`).
 */
export const PASSWORD_MAX_BYTES_DEFAULT = 256;

/** Variables of the password section. */
export const passwordEnv = z.object({
  PASSWORD_HASHER: z.enum(["auto", "native", "wasm"]).default("auto"),
  ARGON2_MEMORY_KIB: intIn(1024, 4_194_304, 19_456),
  ARGON2_ITERATIONS: intIn(1, 100, 2),
  ARGON2_PARALLELISM: intIn(1, 16, 1),
  PASSWORD_MAX_BYTES: intIn(64, 4096, PASSWORD_MAX_BYTES_DEFAULT),
  PASSWORD_MIN_LENGTH: intIn(8, 128, 8),
  PASSWORD_MIN_SCORE: intIn(0, 4, 3),
  LOGIN_LOCK_PER_ADDRESS: intIn(1, 1000, 5),
  LOGIN_LOCK_PER_ACCOUNT: intIn(1, 100_000, 100),
  LOGIN_LOCK_WINDOW_SECONDS: intIn(60, 86_400, 900),
  LOGIN_LOCK_BASE_SECONDS: intIn(1, 3600, 30),
  LOGIN_LOCK_MAX_SECONDS: intIn(1, 86_400, 900),
});

/**
 * Maps the password variables. Refuses a lockout whose account-wide threshold is below the
 * per-address one (the owner's own address would never be the first to lock) or whose cap is below
 * its base delay.
 */
export function parsePassword(env: z.output<typeof passwordEnv>): Section<PasswordConfig> {
  const problems: Problem[] = [];
  if (env.LOGIN_LOCK_PER_ACCOUNT < env.LOGIN_LOCK_PER_ADDRESS) {
    problems.push({ variable: "LOGIN_LOCK_PER_ACCOUNT", message: "must be at least LOGIN_LOCK_PER_ADDRESS" });
  }
  if (env.LOGIN_LOCK_MAX_SECONDS < env.LOGIN_LOCK_BASE_SECONDS) {
    problems.push({
      variable: "LOGIN_LOCK_MAX_SECONDS",
      message: "must be at least LOGIN_LOCK_BASE_SECONDS",
    });
  }
  return settle(problems, () => ({
    password: {
      backend: env.PASSWORD_HASHER,
      memoryKiB: env.ARGON2_MEMORY_KIB,
      iterations: env.ARGON2_ITERATIONS,
      parallelism: env.ARGON2_PARALLELISM,
      maxBytes: env.PASSWORD_MAX_BYTES,
      minLength: env.PASSWORD_MIN_LENGTH,
      minScore: env.PASSWORD_MIN_SCORE,
    },
    loginLock: {
      perAddress: env.LOGIN_LOCK_PER_ADDRESS,
      perAccount: env.LOGIN_LOCK_PER_ACCOUNT,
      windowSeconds: env.LOGIN_LOCK_WINDOW_SECONDS,
      baseDelaySeconds: env.LOGIN_LOCK_BASE_SECONDS,
      maxDelaySeconds: env.LOGIN_LOCK_MAX_SECONDS,
    },
  }));
}
