import { z } from "zod";
import { intIn } from "./fields";
import type { Section } from "./section";

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
});

/** Maps the password variables; their ranges are the whole check, so this section has no problems of its own. */
export function parsePassword(env: z.output<typeof passwordEnv>): Section<PasswordConfig> {
  return {
    value: {
      password: {
        backend: env.PASSWORD_HASHER,
        memoryKiB: env.ARGON2_MEMORY_KIB,
        iterations: env.ARGON2_ITERATIONS,
        parallelism: env.ARGON2_PARALLELISM,
        maxBytes: env.PASSWORD_MAX_BYTES,
        minLength: env.PASSWORD_MIN_LENGTH,
        minScore: env.PASSWORD_MIN_SCORE,
      },
    },
    problems: [],
  };
}
