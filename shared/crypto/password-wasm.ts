/**
 * Argon2 backend on hash-wasm: WebAssembly, single-threaded, runtime-neutral, the reference
 * implementation (reproduces the libargon2 test vectors). Needs a runtime that allows compiling
 * WebAssembly at run time (Node, Lambda; not Cloudflare Workers or Vercel Edge).
 */
import { argon2d, argon2i, argon2id } from "hash-wasm";
import type { Argon2Backend, Argon2Settings } from "./phc";

const VARIANTS = { argon2id, argon2i, argon2d } as const;

function options(password: Uint8Array, salt: Uint8Array, s: Argon2Settings) {
  return {
    password,
    salt,
    iterations: s.iterations,
    parallelism: s.parallelism,
    memorySize: s.memoryKiB,
    hashLength: s.hashLengthBytes,
  };
}

/** Creates the hash-wasm {@link Argon2Backend}. The WASM module compiles on first use. */
export function createWasmArgon2(): Argon2Backend {
  return {
    name: "wasm",
    hashEncoded: (password, salt, s) =>
      VARIANTS[s.algorithm]({ ...options(password, salt, s), outputType: "encoded" as const }),
    hashRaw: (password, salt, s) =>
      VARIANTS[s.algorithm]({ ...options(password, salt, s), outputType: "binary" as const }),
  };
}
