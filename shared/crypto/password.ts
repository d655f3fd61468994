/**
 * Password hashing with Argon2id (RFC 9106) behind one interface and two interchangeable backends
 * (DESIGN §2 "Password hashing speed"): @node-rs/argon2 (native, ~7× faster; Node only, loaded by
 * dynamic `import()` so edge bundles never contain it) and hash-wasm (WASM, the reference, runs
 * wherever WebAssembly may be compiled). Both write the same PHC strings and verify each other's.
 *
 * Verification does not trust either library's PHC verifier: it parses the PHC string itself
 * ({@link parsePhc}), recomputes the raw hash with the stored parameters and salt, and compares
 * with {@link timingSafeEqual} (hash-wasm's own verifier compares with `===`).
 */
import { AuthError, ConfigError } from "../errors";
import { utf8Encode } from "./encoding";
import { passwordTooLong } from "./password-limit";
import { type Argon2Backend, type Argon2Settings, PHC_LIMITS, type PhcArgon2, parsePhc } from "./phc";

export type { Argon2Backend, Argon2Settings };

import { randomBytes, timingSafeEqual } from "./random";

/** Argon2id cost parameters, from configuration. */
export interface Argon2Params {
  /** Memory cost in KiB (`m`). */
  memoryKiB: number;
  /** Passes over memory (`t`). */
  iterations: number;
  /** Lanes (`p`). */
  parallelism: number;
  /** Raw hash length in bytes. @default 32 */
  hashLengthBytes?: number;
  /** Random salt length in bytes. @default 16 */
  saltLengthBytes?: number;
}

/**
 * OWASP Password Storage Cheat Sheet minimum for Argon2id: m=19456 KiB (19 MiB), t=2, p=1,
 * with a 32-byte hash and a 16-byte salt (RFC 9106 §4 recommends 128-bit salts).
 */
export const OWASP_ARGON2ID: Readonly<Required<Argon2Params>> = Object.freeze({
  memoryKiB: 19456,
  iterations: 2,
  parallelism: 1,
  hashLengthBytes: 32,
  saltLengthBytes: 16,
});

/** Argon2id password hashing as the rest of the service sees it. */
export interface PasswordHasher {
  /** Which backend was loaded (log it at cold start). */
  readonly backend: "native" | "wasm";
  /**
   * Hashes with the configured parameters and a fresh random salt.
   * @returns PHC string `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>`.
   * @throws AuthError `password_too_long` (422) when the UTF-8 password exceeds `maxPasswordBytes`;
   *   `invalid_password` (422) when it is empty (policy checks belong to the caller; this is the floor).
   */
  hash(password: string): Promise<string>;
  /**
   * Whether `password` matches the PHC string, using the parameters stored in it.
   * `false` on mismatch, on an unparsable/unsupported PHC string and for an empty password; in
   * those cases a dummy hash is still computed, so they cost as much as a real verification.
   * @throws AuthError `password_too_long` (422), before any hashing (see {@link loadPasswordHasher}).
   */
  verify(phc: string, password: string): Promise<boolean>;
  /**
   * Whether a stored hash should be replaced after a successful login: `true` when it is not
   * Argon2id v19 or its m, t, p, hash length or salt length differ from the configured ones
   * (in either direction, so lowering costs also converges), or when it does not parse.
   */
  needsRehash(phc: string): boolean;
  /**
   * Spends exactly the work of a real {@link PasswordHasher.verify} at the configured parameters
   * and returns `false`. Call it when the account does not exist, so login time does not reveal
   * whether an email is registered (OWASP Authentication Cheat Sheet).
   * @throws AuthError `password_too_long` (422), exactly as `verify` would.
   */
  dummyVerify(password: string): Promise<false>;
}

/** Options of {@link loadPasswordHasher}. */
export interface LoadPasswordHasherOptions {
  /** `auto`: native when it loads, else wasm. `native`: native or throw. `wasm`: hash-wasm. */
  backend: "auto" | "native" | "wasm";
  params: Argon2Params;
  /** Longest accepted password in UTF-8 bytes (not characters). */
  maxPasswordBytes: number;
  /** Called with the load error when `auto` falls back to wasm (for a cold-start log line). */
  onNativeUnavailable?: (error: unknown) => void;
}

/** Configured parameters with the optional lengths defaulted (an explicit `undefined` too). */
function resolveParams(params: Argon2Params): Required<Argon2Params> {
  return {
    ...params,
    hashLengthBytes: params.hashLengthBytes ?? OWASP_ARGON2ID.hashLengthBytes,
    saltLengthBytes: params.saltLengthBytes ?? OWASP_ARGON2ID.saltLengthBytes,
  };
}

function validate(opts: LoadPasswordHasherOptions): string[] {
  const p = resolveParams(opts.params);
  const L = PHC_LIMITS;
  const problems: string[] = [];
  const check = (ok: boolean, message: string) => ok || problems.push(message);
  const int = (n: number, min: number, max: number) => Number.isInteger(n) && n >= min && n <= max;
  check(int(p.parallelism, 1, L.maxParallelism), `argon2: parallelism must be 1..${L.maxParallelism}`);
  check(
    int(p.memoryKiB, 8 * p.parallelism, L.maxMemoryKiB),
    `argon2: memoryKiB must be 8*p..${L.maxMemoryKiB}`,
  );
  check(int(p.iterations, 1, L.maxIterations), `argon2: iterations must be 1..${L.maxIterations}`);
  check(int(p.hashLengthBytes, L.minHashBytes, L.maxHashBytes), "argon2: hashLengthBytes must be 16..64");
  check(int(p.saltLengthBytes, 16, L.maxSaltBytes), "argon2: saltLengthBytes must be 16..64");
  check(int(opts.maxPasswordBytes, 1, 65536), "argon2: maxPasswordBytes must be 1..65536");
  check(["auto", "native", "wasm"].includes(opts.backend), "argon2: backend must be auto, native or wasm");
  return problems;
}

// hash-wasm refuses empty passwords; an empty password never verifies, but must cost the same.
const EMPTY_STAND_IN = new Uint8Array(1);

/** hash-wasm, imported on first use: functions that never hash a password never load it. */
async function loadWasm(): Promise<Argon2Backend> {
  const { createWasmArgon2 } = await import("./password-wasm");
  return createWasmArgon2();
}

async function loadNative(): Promise<Argon2Backend> {
  const { createNativeArgon2 } = await import("./password-native");
  return createNativeArgon2();
}

async function smokeTest(backend: Argon2Backend): Promise<Argon2Backend> {
  // Minimal-cost run: surfaces a missing binary, wrong architecture or a runtime that forbids
  // compiling WebAssembly at cold start rather than at the first login.
  const tiny = {
    algorithm: "argon2id",
    memoryKiB: 8,
    iterations: 1,
    parallelism: 1,
    hashLengthBytes: 16,
  } as const;
  await backend.hashRaw(new Uint8Array(1), new Uint8Array(8), tiny);
  return backend;
}

async function loadBackend(opts: LoadPasswordHasherOptions): Promise<Argon2Backend> {
  if (opts.backend === "wasm") return smokeTest(await loadWasm());
  try {
    return await smokeTest(await loadNative());
  } catch (error) {
    if (opts.backend === "native") {
      throw new Error("Argon2 native backend (@node-rs/argon2) could not be loaded", { cause: error });
    }
    opts.onNativeUnavailable?.(error);
    return smokeTest(await loadWasm());
  }
}

/**
 * Loads the Argon2id hasher for the configured backend and parameters.
 *
 * Oversized passwords: `hash`, `verify` and `dummyVerify` all reject a password longer than
 * `maxPasswordBytes` (UTF-8) with `password_too_long` BEFORE hashing, so an attacker cannot make
 * the server hash megabytes. This is not a timing oracle: the check depends only on the length of
 * the submitted password, which the attacker already knows, and it happens the same way whether
 * the account exists (`verify`), does not (`dummyVerify`) or has a broken hash.
 *
 * @throws ConfigError for parameters outside the supported ranges.
 * @throws Error (with `cause`) when `backend: "native"` and @node-rs/argon2 cannot be loaded.
 */
export async function loadPasswordHasher(opts: LoadPasswordHasherOptions): Promise<PasswordHasher> {
  const problems = validate(opts);
  if (problems.length > 0) throw new ConfigError(problems);
  const { saltLengthBytes, hashLengthBytes, memoryKiB, iterations, parallelism } = resolveParams(opts.params);
  const settings: Argon2Settings = {
    algorithm: "argon2id",
    memoryKiB,
    iterations,
    parallelism,
    hashLengthBytes,
  };
  const { maxPasswordBytes } = opts;
  const backend = await loadBackend(opts);
  const dummy: PhcArgon2 = {
    ...settings,
    version: 19,
    salt: randomBytes(saltLengthBytes),
    hash: randomBytes(hashLengthBytes),
  };

  const passwordBytes = (password: string): Uint8Array => {
    if (typeof password !== "string") throw new TypeError("password must be a string");
    // UTF-8 never has fewer bytes than UTF-16 code units, so long strings are refused unencoded.
    const bytes = password.length > maxPasswordBytes ? undefined : utf8Encode(password);
    if (bytes === undefined || bytes.length > maxPasswordBytes) throw passwordTooLong(maxPasswordBytes);
    return bytes;
  };
  const matches = async (target: PhcArgon2, password: Uint8Array): Promise<boolean> => {
    const computed = await backend.hashRaw(password, target.salt, {
      algorithm: target.algorithm,
      memoryKiB: target.memoryKiB,
      iterations: target.iterations,
      parallelism: target.parallelism,
      hashLengthBytes: target.hash.length,
    });
    return timingSafeEqual(computed, target.hash);
  };

  return {
    backend: backend.name,
    hash: async (password) => {
      const bytes = passwordBytes(password);
      if (bytes.length === 0) throw new AuthError("invalid_password");
      return backend.hashEncoded(bytes, randomBytes(saltLengthBytes), settings);
    },
    verify: async (phc, password) => {
      const bytes = passwordBytes(password);
      const parsed = bytes.length === 0 ? undefined : parsePhc(phc);
      // Unusable hash or empty password: spend the same work on the dummy, then refuse.
      const ok = await matches(parsed ?? dummy, parsed === undefined ? EMPTY_STAND_IN : bytes);
      return parsed !== undefined && ok;
    },
    needsRehash: (phc) => {
      const parsed = parsePhc(phc);
      return (
        parsed === undefined ||
        parsed.algorithm !== "argon2id" ||
        parsed.memoryKiB !== memoryKiB ||
        parsed.iterations !== iterations ||
        parsed.parallelism !== parallelism ||
        parsed.hash.length !== hashLengthBytes ||
        parsed.salt.length !== saltLengthBytes
      );
    },
    dummyVerify: async (password) => {
      const bytes = passwordBytes(password);
      await matches(dummy, bytes.length === 0 ? EMPTY_STAND_IN : bytes);
      return false;
    },
  };
}
