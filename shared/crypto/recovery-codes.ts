/**
 * Recovery codes: single-use backup codes for an account's second factor (NIST SP 800-63B §5.1.2
 * "look-up secrets"). Each code carries 60 random bits (≥ 64 bits would be NIST's bar for a secret
 * chosen by the verifier only when it is not throttled; these are, like passwords, counted on the
 * login throttle), is shown once, and is stored only as a keyed hash bound to the kind and user.
 * Pure, no I/O.
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { base64UrlEncode, utf8Encode } from "./encoding";
import { randomBytes, timingSafeEqual } from "./random";

/** How many codes one set has. */
export const RECOVERY_CODE_COUNT = 10;
/** Crockford-style base32 without I, L, O, U: nothing a reader can confuse. */
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
/** Characters per code (12 × 5 bits = 60 bits), shown as two groups of 6: `k3v9qa-7hx2mf`. */
const CODE_CHARS = 12;

/** What a code is bound to. */
export interface RecoveryCodeContext {
  kind: string;
  userId: string;
}

/** A fresh set of {@link RECOVERY_CODE_COUNT} codes, each `xxxxxx-xxxxxx` (lower-case base32). */
export function createRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const bytes = randomBytes(CODE_CHARS);
    // 256 is a multiple of 32, so `% 32` on a random byte is uniform.
    const chars = [...bytes].map((b) => ALPHABET[b % 32]).join("");
    return `${chars.slice(0, 6)}-${chars.slice(6)}`;
  });
}

/**
 * The canonical form of a typed code: lower case, spaces and hyphens removed; `null` when it
 * cannot be a recovery code (wrong length or characters), so it is refused without any hashing.
 */
export function normaliseRecoveryCode(typed: string): string | null {
  const canonical = typed.toLowerCase().replace(/[\s-]/g, "");
  if (canonical.length !== CODE_CHARS) return null;
  for (const ch of canonical) if (!ALPHABET.includes(ch)) return null;
  return canonical;
}

/**
 * HMAC-SHA-256 (RFC 2104) of a normalised code bound to kind and user, base64url (43 chars):
 * a hash copied to another account never matches there, and a store dump reveals no code.
 * @param key the OTP key (`AccountDeps.otpKey`, 32 bytes).
 * @param canonical a code as {@link normaliseRecoveryCode} returns it.
 */
export function hashRecoveryCode(key: Uint8Array, ctx: RecoveryCodeContext, canonical: string): string {
  return base64UrlEncode(
    hmac(sha256, key, utf8Encode(JSON.stringify(["recovery-code/v1", ctx.kind, ctx.userId, canonical]))),
  );
}

/**
 * The index in `hashes` of the stored hash that `typed` matches, or `-1`. Every stored hash is
 * compared (constant time each), so the time does not tell which position matched.
 */
export function findRecoveryCode(
  key: Uint8Array,
  ctx: RecoveryCodeContext,
  hashes: readonly string[],
  typed: string,
): number {
  const canonical = normaliseRecoveryCode(typed);
  if (canonical === null) return -1;
  const hash = hashRecoveryCode(key, ctx, canonical);
  let found = -1;
  hashes.forEach((stored, i) => {
    if (timingSafeEqual(stored, hash) && found === -1) found = i;
  });
  return found;
}
