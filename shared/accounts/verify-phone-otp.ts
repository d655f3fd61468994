import { verifyOtp } from "../crypto/otp";
import { AuthError } from "../errors";
import type { UserPatch } from "../ports/user-store";
import type { DepsOf } from "./deps";
import { redisKeys } from "./keys";
import { loadParsePhone } from "./load-phone";
import { OTP_MAX_ATTEMPTS, OTP_TTL_SECONDS, type OtpRecord, otpPhoneAad } from "./send-phone-otp";
import { invalidateProfile, missingToken, type Principal } from "./sessions";
import { updateWithRetry } from "./update-with-retry";
import { openUser, sealChanges } from "./user-codec";

/** The dependencies this module's use-case reads (built lazily: see `shared/wiring/account-deps.ts`). */
export const VERIFY_PHONE_OTP_DEPS = ["kv", "otpKey", "ring", "store"] as const;
type VerifyPhoneOtpDeps = DepsOf<typeof VERIFY_PHONE_OTP_DEPS>;

/** 400 for a wrong, expired, used-up or absent code (one answer for all: no oracle). */
export const invalidOtp = () => new AuthError("invalid_otp");

function parseRecord(raw: string | null): OtpRecord | null {
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as Partial<OtpRecord>;
    return v.v === 1 &&
      typeof v.hash === "string" &&
      typeof v.phone === "string" &&
      typeof v.nonce === "string"
      ? (v as OtpRecord)
      : null;
  } catch {
    return null;
  }
}

/**
 * Confirms the caller's SMS code and marks the phone verified (DESIGN.md §9).
 *
 * - Every try is counted BEFORE the comparison (atomic INCR, so parallel guesses count too); the
 *   {@link OTP_MAX_ATTEMPTS}+1-th try kills the code, even when it is the right one.
 * - The code is compared as a keyed hash bound to kind, user and number, in constant time, and is
 *   then consumed atomically (GETDEL of the exact record that matched): single use.
 * - When the code was sent to a number other than the profile's, the profile's phone becomes that
 *   number (re-encrypted under the record's data key, country re-derived); `phone_verified` is set.
 *
 * @returns the verified E.164 number.
 * @throws AuthError `invalid_otp` (400), `unauthorized` (401) when the account is gone, `conflict`
 *   (409) when concurrent updates kept winning the race.
 */
export async function verifyPhoneOtp(
  deps: VerifyPhoneOtpDeps,
  principal: Principal,
  otp: string,
): Promise<{ phone: string }> {
  const { kind, userId } = principal;
  const otpKey = redisKeys.otp(kind, userId);
  const attemptsKey = redisKeys.otpAttempts(kind, userId);
  // Independent reads/writes in parallel: the client auto-pipelines them into one round trip.
  const [raw, attempts] = await Promise.all([
    deps.kv.get(otpKey),
    deps.kv.incr(attemptsKey, OTP_TTL_SECONDS),
  ]);
  const record = parseRecord(raw);
  if (!record) throw invalidOtp();
  if (attempts > OTP_MAX_ATTEMPTS) {
    await deps.kv.del(otpKey);
    throw invalidOtp();
  }
  let phone: string;
  try {
    phone = await deps.ring.openText(record.phone, otpPhoneAad(kind, userId));
  } catch {
    throw invalidOtp(); // e.g. its key left the ring: the user can simply ask for a new code
  }
  if (!verifyOtp(deps.otpKey, { kind, userId, phone, otp }, record.hash)) throw invalidOtp();
  if ((await deps.kv.getdel(otpKey)) !== raw) throw invalidOtp(); // used or replaced meanwhile
  await deps.kv.del(attemptsKey);

  const updated = await updateWithRetry(deps, kind, userId, async (current) => {
    const profile = await openUser(deps.ring, kind, current);
    const patch: UserPatch = {};
    if (profile.phone !== phone) {
      Object.assign(patch, await sealChanges(deps.ring, kind, current, { phone }));
      const parsed = (await loadParsePhone())(phone);
      if (parsed.ok) patch.country = parsed.country;
    }
    if (!current.phoneVerified || patch.phone !== undefined) patch.phoneVerified = true;
    return Object.keys(patch).length > 0 ? patch : null;
  });
  if (!updated) throw missingToken();
  await invalidateProfile(deps, kind, userId);
  return { phone };
}
