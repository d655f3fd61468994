/**
 * Parser for Argon2 hashes in the PHC string format
 * (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, salt and hash in unpadded standard base64),
 * as written by libargon2, hash-wasm and @node-rs/argon2. node-argon2 writes the parameters in
 * another order (`m=…,p=…,t=…`); that is accepted too.
 */
import { base64Decode } from "./encoding";

/** Argon2 variant (RFC 9106 §3.1). Only `argon2id` is written; the others are read for migration. */
export type Argon2Algorithm = "argon2id" | "argon2i" | "argon2d";

/** A parsed Argon2 PHC string. */
export interface PhcArgon2 {
  algorithm: Argon2Algorithm;
  /** Argon2 version number; always 19 (0x13), the only one accepted. */
  version: 19;
  /** `m=`: memory cost in KiB. */
  memoryKiB: number;
  /** `t=`: number of passes. */
  iterations: number;
  /** `p=`: lanes. */
  parallelism: number;
  salt: Uint8Array;
  hash: Uint8Array;
}

/**
 * Bounds on what a stored hash may ask for. They keep a corrupted or planted record from making
 * a verification allocate gigabytes or loop for minutes, and refuse truncated outputs.
 */
export const PHC_LIMITS = {
  maxMemoryKiB: 1024 * 1024,
  maxIterations: 100,
  maxParallelism: 255,
  minSaltBytes: 8,
  maxSaltBytes: 64,
  minHashBytes: 16,
  maxHashBytes: 64,
} as const;

const PHC_PATTERN =
  /^\$(argon2id|argon2i|argon2d)\$v=(\d{1,3})\$([a-z0-9=,]{1,64})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const PARAM_PATTERN = /^([mtp])=([1-9][0-9]{0,9})$/;

function parseParams(text: string): { m: number; t: number; p: number } | undefined {
  const values = new Map<string, number>();
  for (const part of text.split(",")) {
    const match = PARAM_PATTERN.exec(part);
    if (match === null || values.has(match[1]!)) return undefined;
    values.set(match[1]!, Number(match[2]));
  }
  const m = values.get("m");
  const t = values.get("t");
  const p = values.get("p");
  return m === undefined || t === undefined || p === undefined ? undefined : { m, t, p };
}

function withinLimits(p: PhcArgon2): boolean {
  const L = PHC_LIMITS;
  return (
    p.parallelism <= L.maxParallelism &&
    p.memoryKiB >= 8 * p.parallelism &&
    p.memoryKiB <= L.maxMemoryKiB &&
    p.iterations <= L.maxIterations &&
    p.salt.length >= L.minSaltBytes &&
    p.salt.length <= L.maxSaltBytes &&
    p.hash.length >= L.minHashBytes &&
    p.hash.length <= L.maxHashBytes
  );
}

/**
 * Parses an Argon2 PHC string. Returns `undefined` (never throws) for anything else: another
 * algorithm, a version other than 19 (including the legacy form without `v=`), missing, repeated
 * or unknown parameters, non-canonical base64, or values outside {@link PHC_LIMITS}.
 */
export function parsePhc(phc: string): PhcArgon2 | undefined {
  if (typeof phc !== "string" || phc.length > 512) return undefined;
  const match = PHC_PATTERN.exec(phc);
  if (match === null || match[2] !== "19") return undefined;
  const params = parseParams(match[3]!);
  if (params === undefined) return undefined;
  try {
    const parsed: PhcArgon2 = {
      algorithm: match[1] as Argon2Algorithm,
      version: 19,
      memoryKiB: params.m,
      iterations: params.t,
      parallelism: params.p,
      salt: base64Decode(match[4]!),
      hash: base64Decode(match[5]!),
    };
    return withinLimits(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Everything a backend needs for one Argon2 computation. */
export interface Argon2Settings {
  algorithm: Argon2Algorithm;
  memoryKiB: number;
  iterations: number;
  parallelism: number;
  hashLengthBytes: number;
}

/** One Argon2 implementation. Internal seam between `loadPasswordHasher` (`password.ts`) and the libraries. */
export interface Argon2Backend {
  readonly name: "native" | "wasm";
  /** The library's own PHC encoding of the hash (version 19). */
  hashEncoded(password: Uint8Array, salt: Uint8Array, settings: Argon2Settings): Promise<string>;
  /** The raw hash bytes (`hashLengthBytes` long). */
  hashRaw(password: Uint8Array, salt: Uint8Array, settings: Argon2Settings): Promise<Uint8Array>;
}
