/**
 * Random identifiers, opaque tokens, OTP codes and constant-time comparison. Randomness comes only
 * from the platform CSPRNG (`crypto.getRandomValues`); hashing uses @noble/hashes (synchronous,
 * runtime-neutral).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { base64UrlEncode, utf8Encode } from "./encoding";

const PREFIX_PATTERN = /^[a-z][a-z0-9]{0,15}$/;
const MIN_ID_BYTES = 16;
const OPAQUE_TOKEN_BYTES = 32;

/** `n` bytes from the platform CSPRNG. */
export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(n));
}

/**
 * A prefixed random identifier, `<prefix>_<base64url>`, e.g. `usr_3q2-7wEjR1aQyL0sJ0HNbA`.
 * URL-safe; 16 bytes (128 bits, 22 characters) by default, the floor for unguessable ids.
 *
 * @param prefix lower-case type tag, `[a-z][a-z0-9]{0,15}` (e.g. `usr`).
 * @param bytes random bytes, an integer from 16 to 64. @default 16
 * @throws RangeError on a malformed prefix or a byte count outside 16..64.
 */
export function randomId(prefix: string, bytes = MIN_ID_BYTES): string {
  if (!PREFIX_PATTERN.test(prefix)) throw new RangeError(`id prefix must match ${PREFIX_PATTERN.source}`);
  if (!Number.isInteger(bytes) || bytes < MIN_ID_BYTES || bytes > 64) {
    throw new RangeError(`id entropy must be ${MIN_ID_BYTES}..64 bytes`);
  }
  return `${prefix}_${base64UrlEncode(randomBytes(bytes))}`;
}

/**
 * Hash under which an opaque token is stored: base64url(SHA-256(UTF-8 token)), 43 characters.
 * An unkeyed hash is enough because the token carries 256 bits of entropy: it cannot be guessed
 * from the hash, and a database leak does not hand out usable tokens.
 */
export function hashOpaqueToken(token: string): string {
  return base64UrlEncode(sha256(utf8Encode(token)));
}

/**
 * A new opaque bearer token (refresh token, email-verification or password-reset token):
 * 256 random bits as base64url (43 characters), plus the hash to store (DESIGN §5: stored only
 * as a hash). Look the token up later by {@link hashOpaqueToken}.
 */
export function createOpaqueToken(): { token: string; hash: string } {
  const token = base64UrlEncode(randomBytes(OPAQUE_TOKEN_BYTES));
  return { token, hash: hashOpaqueToken(token) };
}

/**
 * A numeric one-time code of `digits` decimal digits, leading zeros kept (`"004217"`).
 * Drawn by rejection sampling from 32-bit CSPRNG words, so every code is exactly equally likely
 * (a plain `% 10**digits` would favour low codes).
 *
 * @param digits 1..9. @default 6
 * @throws RangeError when `digits` is outside 1..9.
 */
export function randomOtp(digits = 6): string {
  if (!Number.isInteger(digits) || digits < 1 || digits > 9) throw new RangeError("OTP digits must be 1..9");
  const modulus = 10 ** digits;
  // Largest multiple of the modulus that fits in 2^32: words at or above it are redrawn.
  const limit = Math.floor(2 ** 32 / modulus) * modulus;
  const word = new Uint32Array(1);
  for (;;) {
    crypto.getRandomValues(word);
    const value = word[0]!;
    if (value < limit) return String(value % modulus).padStart(digits, "0");
  }
}

/**
 * Compares two secrets (strings as UTF-8, or bytes) in time that depends only on their length,
 * never on where they first differ. Different lengths return `false` at once: the length of a
 * hash or token is public, its content is not.
 */
export function timingSafeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const x = typeof a === "string" ? utf8Encode(a) : a;
  const y = typeof b === "string" ? utf8Encode(b) : b;
  if (x.length !== y.length) return false;
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}
