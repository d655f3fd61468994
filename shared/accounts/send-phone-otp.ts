import { hashOtp } from "../crypto/otp";
import { randomId, randomOtp } from "../crypto/random";
import type { DepsOf } from "./deps";
import { redisKeys } from "./keys";
import { getProfile, PROFILE_DEPS } from "./profile";
import type { Principal } from "./sessions";
import type { UserProfile } from "./user-codec";

/** The dependencies this module's use-case reads (built lazily: see `shared/wiring/account-deps.ts`). */
export const SEND_PHONE_OTP_DEPS = [...PROFILE_DEPS, "notifier", "otpKey", "smsGuard"] as const;
type SendPhoneOtpDeps = DepsOf<typeof SEND_PHONE_OTP_DEPS>;

/** Lifetime of an SMS code, seconds (DESIGN.md §9: 5 minutes; the SMS text says so too). */
export const OTP_TTL_SECONDS = 300;
/** Wrong codes accepted before the code is dead (then even the right code fails). */
export const OTP_MAX_ATTEMPTS = 5;

/**
 * The current code of a user, JSON under `redisKeys.otp(kind, userId)`: only a keyed hash of the
 * code and the number sealed with the key ring (DESIGN.md §6: no PII or secret in clear in Redis).
 */
export interface OtpRecord {
  v: 1;
  /** `hashOtp(otpKey, {kind, userId, phone, otp})`. */
  hash: string;
  /** The E.164 number the code was sent to, sealed (AAD {@link otpPhoneAad}). */
  phone: string;
  /** Random id of this send (deduplicates the SMS; never derived from the code). */
  nonce: string;
}

/** AAD of the sealed phone number in an {@link OtpRecord}: bound to kind and user. */
export const otpPhoneAad = (kind: string, userId: string) => `${kind}|${userId}|otp_phone`;

/**
 * Sends a 6-digit SMS code to verify a phone number (DESIGN.md §9; NIST SP 800-63B §5.1.3 out-of-band).
 *
 * - The number is `phone` when given (already parsed and normalised to E.164 by the caller),
 *   otherwise the profile's. Acts on the token's subject only.
 * - The SMS guard (`sms-guard.ts`) decides first, in one Redis command: allowed country and
 *   mobile number type; one send per user per `otpResendCooldownSeconds` (429 `otp_cooldown`); the
 *   per-account, per-(number, account) and service-wide budgets; and `otpDailyLimitPerPhone` per
 *   number per day over all users of the kind (429 `otp_daily_limit`), which does not bind the
 *   account whose profile holds the number (so other accounts cannot exhaust it: finding F10).
 * - The code comes from the CSPRNG (`randomOtp`), is stored only as HMAC bound to kind, user and
 *   number, lives {@link OTP_TTL_SECONDS}, and replaces any previous code (whose wrong-try count
 *   is reset with it). It travels sealed through the queue to the SMS function; it is never
 *   returned or logged.
 *
 * @throws AuthError from the guard: `sms_country_not_allowed`, `sms_number_type_not_allowed` (422),
 *   `otp_cooldown`, `sms_account_daily_limit`, `sms_number_account_daily_limit`, `otp_daily_limit`
 *   (429), `sms_budget_exhausted` (503); `unauthorized` (401) when the account is gone.
 */
export async function sendPhoneOtp(
  deps: SendPhoneOtpDeps,
  principal: Principal,
  phone: string | null,
  cachedProfile: UserProfile | null,
): Promise<void> {
  const { kind, userId } = principal;
  // The profile decides whose number it is (usually the cached copy the session check read).
  const profileNumber = (await getProfile(deps, principal, cachedProfile)).phone;
  const to = phone ?? profileNumber;
  await deps.smsGuard.reserve({
    kind,
    userId,
    phone: to,
    ownNumber: to === profileNumber,
    cooldown: { key: redisKeys.otpCooldown(kind, userId), seconds: deps.settings.otpResendCooldownSeconds },
  });
  const code = randomOtp(6);
  const record: OtpRecord = {
    v: 1,
    hash: hashOtp(deps.otpKey, { kind, userId, phone: to, otp: code }),
    phone: await deps.ring.seal(to, otpPhoneAad(kind, userId)),
    nonce: randomId("otp"),
  };
  await Promise.all([
    deps.kv.set(redisKeys.otp(kind, userId), JSON.stringify(record), { ttlSeconds: OTP_TTL_SECONDS }),
    deps.kv.del(redisKeys.otpAttempts(kind, userId)),
  ]);
  await deps.notifier.notify({ type: "sms.otp", kind, to, code }, `otp:${kind}:${record.nonce}`);
}
