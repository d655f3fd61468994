/**
 * Keys and keyed tags for SMS one-time codes. `hashOtp` (crypto/otp.ts) wants a dedicated key,
 * never the blind-index or encryption key; rather than another secret to provision, it is derived
 * from the blind-index key with HMAC-SHA-256 under a fixed label (a one-step KDF as in NIST SP
 * 800-108 §4.1 / HKDF-Expand with a single block): knowing the OTP key reveals nothing about the
 * blind-index key, and rotating the blind-index key rotates this one too.
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { base64UrlEncode, utf8Encode } from "../crypto/encoding";

const OTP_KEY_LABEL = "auth-service/otp-key/v1";

/**
 * Derives the 32-byte OTP HMAC key from the blind-index key.
 * @param blindIndexKey the configured blind-index key (`config.blindIndexKey`, ≥16 bytes).
 */
export function deriveOtpKey(blindIndexKey: Uint8Array): Uint8Array {
  return hmac(sha256, blindIndexKey, utf8Encode(OTP_KEY_LABEL));
}

/**
 * A keyed tag of a phone number for counters that must not hold the number (the per-phone daily
 * SMS cap): base64url(HMAC-SHA-256(otpKey, `phone-tag/v1|kind|e164`)), 43 characters.
 * @param phone normalised E.164.
 */
export function phoneTag(otpKey: Uint8Array, kind: string, phone: string): string {
  return base64UrlEncode(hmac(sha256, otpKey, utf8Encode(JSON.stringify(["phone-tag/v1", kind, phone]))));
}
