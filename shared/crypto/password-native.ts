/**
 * Argon2 backend on @node-rs/argon2 (Rust `argon2` crate via N-API, prebuilt per platform).
 * Node only: this module is reached exclusively through a dynamic `import()` in `password.ts`, so
 * runtime-neutral bundles never contain it. On Lambda the package must be installed for the
 * function's architecture (SST `nodejs.install`), not inlined by the bundler.
 */
import type { Algorithm, Options } from "@node-rs/argon2";
import type { Argon2Algorithm, Argon2Backend, Argon2Settings } from "./phc";

// Values of @node-rs/argon2's `const enum Algorithm`, which `isolatedModules` cannot read.
const ALGORITHM_IDS: Record<Argon2Algorithm, Algorithm> = { argon2d: 0, argon2i: 1, argon2id: 2 };

function options(salt: Uint8Array, s: Argon2Settings): Options {
  return {
    algorithm: ALGORITHM_IDS[s.algorithm],
    memoryCost: s.memoryKiB,
    timeCost: s.iterations,
    parallelism: s.parallelism,
    outputLen: s.hashLengthBytes,
    salt,
  };
}

/**
 * Loads @node-rs/argon2 and returns its {@link Argon2Backend}.
 * @throws whatever the import throws when no binary for this platform is installed.
 */
export async function createNativeArgon2(): Promise<Argon2Backend> {
  const argon2 = await import("@node-rs/argon2");
  return {
    name: "native",
    hashEncoded: (password, salt, s) => argon2.hash(password, options(salt, s)),
    hashRaw: async (password, salt, s) => new Uint8Array(await argon2.hashRaw(password, options(salt, s))),
  };
}
