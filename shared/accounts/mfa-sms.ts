/**
 * SMS codes as a second factor (NIST SP 800-63B §5.1.3.3: out-of-band via the PSTN, a RESTRICTED
 * authenticator, offered beside TOTP and recovery codes). A code is sent only for a live MFA token
 * (the password was right), to the account's verified phone, is bound to that token (a code sent
 * for one login never completes another), lives as long as the token, and is stored only as a keyed
 * hash.
 *
 * Sending goes through the SMS guard (`sms-guard.ts`), exactly as a phone-verification code does:
 * allowed countries and mobile number types, the per-account, per-(number, account) and
 * service-wide budgets, and the same per-user cool-down key, so a login and a phone verification
 * share one budget. The number is always the account's own verified one.
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { base64UrlEncode, utf8Encode } from "../crypto/encoding";
import { randomId, randomOtp, timingSafeEqual } from "../crypto/random";
import type { DepsOf } from "./deps";
import { redisKeys } from "./keys";
import { MFA_TOKEN_TTL_SECONDS } from "./mfa-tokens";

/** The dependencies of {@link sendMfaSmsCode}. */
export const MFA_SMS_DEPS = ["kv", "notifier", "otpKey", "settings", "smsGuard"] as const;
type MfaSmsDeps = DepsOf<typeof MFA_SMS_DEPS>;

/** What is stored (JSON) under `redisKeys.mfaSmsCode(kind, tokenHash)`. */
interface MfaSmsRecord {
  v: 1;
  /** {@link mfaSmsHash} of the code. */
  hash: string;
  /** Random id of this send (deduplicates the SMS). */
  nonce: string;
}

/** HMAC-SHA-256 of a code bound to kind, user and the MFA token's hash, base64url. */
function mfaSmsHash(otpKey: Uint8Array, kind: string, userId: string, tokenHash: string, code: string) {
  return base64UrlEncode(
    hmac(sha256, otpKey, utf8Encode(JSON.stringify(["mfa-sms/v1", kind, userId, tokenHash, code]))),
  );
}

/**
 * Sends a 6-digit code (CSPRNG) by SMS for one MFA token, replacing any code sent for it before.
 * @param phone the account's verified number, E.164.
 * @throws AuthError from the SMS guard: `sms_country_not_allowed` / `sms_number_type_not_allowed`
 *   (422), `otp_cooldown`, `sms_account_daily_limit`, `sms_number_account_daily_limit`,
 *   `otp_daily_limit` (429), `sms_budget_exhausted` (503); whatever the queue throws.
 */
export async function sendMfaSmsCode(
  deps: MfaSmsDeps,
  kind: string,
  userId: string,
  tokenHash: string,
  phone: string,
): Promise<void> {
  await deps.smsGuard.reserve({
    kind,
    userId,
    phone,
    ownNumber: true,
    cooldown: { key: redisKeys.otpCooldown(kind, userId), seconds: deps.settings.otpResendCooldownSeconds },
  });
  const code = randomOtp(6);
  const record: MfaSmsRecord = {
    v: 1,
    hash: mfaSmsHash(deps.otpKey, kind, userId, tokenHash, code),
    nonce: randomId("otp"),
  };
  await deps.kv.set(redisKeys.mfaSmsCode(kind, tokenHash), JSON.stringify(record), {
    ttlSeconds: MFA_TOKEN_TTL_SECONDS,
  });
  await deps.notifier.notify({ type: "sms.otp", kind, to: phone, code }, `mfa-sms:${kind}:${record.nonce}`);
}

/**
 * Accepts the SMS code sent for an MFA token: compared as a keyed hash in constant time, then
 * consumed atomically (GETDEL of the exact record that matched), so it passes once.
 * @returns whether the code passed.
 */
export async function acceptMfaSmsCode(
  deps: DepsOf<readonly ["kv", "otpKey"]>,
  kind: string,
  userId: string,
  tokenHash: string,
  code: string,
): Promise<boolean> {
  const key = redisKeys.mfaSmsCode(kind, tokenHash);
  const raw = await deps.kv.get(key);
  if (raw === null || !/^\d{6}$/.test(code)) return false;
  let record: Partial<MfaSmsRecord>;
  try {
    record = JSON.parse(raw) as Partial<MfaSmsRecord>;
  } catch {
    return false;
  }
  if (typeof record.hash !== "string") return false;
  if (!timingSafeEqual(mfaSmsHash(deps.otpKey, kind, userId, tokenHash, code), record.hash)) return false;
  return (await deps.kv.getdel(key)) === raw;
}
