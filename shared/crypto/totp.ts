/**
 * Time-based one-time passwords (RFC 6238) for authenticator apps, on the `otpauth` library
 * (HOTP/TOTP per RFC 4226/6238, `otpauth://` URIs in the Key Uri Format that Google Authenticator,
 * 1Password, Authy and others read). Parameters are fixed to what every authenticator app
 * supports: HMAC-SHA-1, 6 digits, 30-second steps (RFC 6238 §4 defaults), and a 160-bit secret
 * (RFC 4226 §4 R6 recommends 160 bits). Pure, no I/O; the clock is always passed in.
 *
 * Replay (RFC 6238 §5.2: "MUST NOT accept the second attempt of the OTP after the successful
 * validation") is not decided here: {@link matchTotp} returns the time step a code belongs to, and
 * the caller records the last accepted step (`shared/accounts/mfa-codes.ts`).
 */
import { Secret, TOTP } from "otpauth";

/** HMAC algorithm of every TOTP this service issues (RFC 6238 §1.2; the one all apps support). */
export const TOTP_ALGORITHM = "SHA1";
/** Digits of a code. */
export const TOTP_DIGITS = 6;
/** Length of one time step, seconds (RFC 6238 §5.2 recommends 30). */
export const TOTP_PERIOD_SECONDS = 30;
/** Steps accepted either side of the current one (RFC 6238 §5.2: at most one step of drift). */
export const TOTP_WINDOW_STEPS = 1;
/** Bytes of a new secret: 160 bits (RFC 4226 §4 R6). */
const SECRET_BYTES = 20;

/** A new random TOTP secret, base32 (RFC 4648 §6, no padding): 32 characters for 160 bits. */
export function createTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

/**
 * The `otpauth://totp/…` URI an authenticator app scans (as a QR code) to add the account, in the
 * Key Uri Format: label `issuer:account`, and `secret`, `issuer`, `algorithm`, `digits`, `period`
 * parameters.
 * @param secretBase32 from {@link createTotpSecret}.
 * @param issuer the product name (`APP_NAME`).
 * @param account what the app shows under the issuer (the account's email).
 */
export function totpUri(secretBase32: string, issuer: string, account: string): string {
  return totpOf(secretBase32, { issuer, label: account }).toString();
}

/**
 * The time step a 6-digit code belongs to, if it is the code of the step at `nowMs` or of one
 * step either side ({@link TOTP_WINDOW_STEPS}); `null` otherwise (wrong, malformed or too old).
 * The comparison is constant-time (the library compares each candidate with `timingSafeEqual`).
 * @param secretBase32 the account's secret.
 * @param code what the user typed, digits only (callers strip spaces first).
 * @param nowMs the current time, epoch milliseconds.
 * @returns the RFC 6238 counter `T = floor(unix seconds / 30)` of the matching step.
 */
export function matchTotp(secretBase32: string, code: string, nowMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const totp = totpOf(secretBase32);
  const delta = totp.validate({ token: code, timestamp: nowMs, window: TOTP_WINDOW_STEPS });
  return delta === null ? null : totp.counter({ timestamp: nowMs }) + delta;
}

/**
 * The code of the step at `nowMs` (what an authenticator app shows then). For tests and the
 * documentation's example flow; the service itself never needs to generate a code.
 */
export function totpCode(secretBase32: string, nowMs: number): string {
  return totpOf(secretBase32).generate({ timestamp: nowMs });
}

function totpOf(secretBase32: string, names: { issuer?: string; label?: string } = {}): TOTP {
  return new TOTP({
    ...names,
    secret: Secret.fromBase32(secretBase32),
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
  });
}
