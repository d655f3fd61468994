/**
 * Keyed hashing of SMS one-time codes (DESIGN §9: "stored hashed, bound to the user and the phone").
 * A 6-digit code has only 10^6 values, so an unkeyed hash would be reversed instantly from a Redis
 * dump; HMAC under a server key prevents that, and hashing the context with the code means a code
 * sent to one phone or user can never be confirmed for another.
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { base64UrlEncode, utf8Encode } from "./encoding";
import { timingSafeEqual } from "./random";

const MIN_KEY_BYTES = 16;

/** What an OTP is bound to. `phone` should be the normalised (E.164) number. */
export interface OtpContext {
  /** User kind (pool), e.g. `User1`. */
  kind: string;
  userId: string;
  phone: string;
  /** The code as sent, digits only. */
  otp: string;
}

/**
 * HMAC-SHA-256 (RFC 2104) of the code and its context under `key`, as base64url (43 chars).
 * The message is `JSON.stringify(["otp/v1", kind, userId, phone, otp])`: JSON string escaping keeps
 * the encoding unambiguous whatever characters the parts contain.
 *
 * @param key HMAC key, at least 16 bytes; a dedicated key, not the encryption or blind-index key.
 * @throws RangeError when the key is shorter than 16 bytes.
 */
export function hashOtp(key: Uint8Array, ctx: OtpContext): string {
  if (key.length < MIN_KEY_BYTES) throw new RangeError(`OTP key must be at least ${MIN_KEY_BYTES} bytes`);
  const message = JSON.stringify(["otp/v1", ctx.kind, ctx.userId, ctx.phone, ctx.otp]);
  return base64UrlEncode(hmac(sha256, key, utf8Encode(message)));
}

/**
 * Whether `ctx` (with the code the user typed) hashes to `storedHash`, compared in constant time.
 * @throws RangeError when the key is shorter than 16 bytes.
 */
export function verifyOtp(key: Uint8Array, ctx: OtpContext, storedHash: string): boolean {
  return timingSafeEqual(hashOtp(key, ctx), storedHash);
}
