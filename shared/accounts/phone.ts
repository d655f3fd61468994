/**
 * Phone number intake for registration and profile updates: strict E.164 in, canonical E.164
 * out, plus the region for the plain `country` / `country_code` fields (DESIGN §4).
 *
 * Uses `libphonenumber-js/max` (Google libphonenumber metadata, pure JS, runs on edge runtimes).
 * `max` rather than `min`: on every example number and 18 000 random ones both derived the same
 * region, but `min` only checks lengths, so it called ~1 500 of those numbers valid that the full
 * digit patterns reject. `valid` is reported, so it has to be right; the cost is ~20 KB more
 * gzipped metadata (≈40 KB instead of ≈20 KB).
 */
import { type NumberType, parsePhoneNumberFromString } from "libphonenumber-js/max";
import metadata from "libphonenumber-js/max/metadata";

/** E.164 (ITU-T): "+", a country calling code not starting with 0, at most 15 digits in all; 8 is our floor. */
const E164 = /^\+[1-9][0-9]{7,14}$/;
/** Visual separators of the E.123 international notation ("+44 20 7946 0000") and common hyphens. */
const SEPARATORS = /[ -]/g;
/** Longest raw input considered: 15 digits, "+", and generous room for separators. */
const MAX_INPUT_CHARS = 32;
/** libphonenumber's pseudo-region for non-geographic calling codes (+800, +808, +870, +881–+883, +888, +979). */
const NON_GEOGRAPHIC = "001";

/**
 * The kind of line a number range is assigned to, from libphonenumber's full metadata:
 * `MOBILE`, `FIXED_LINE`, `FIXED_LINE_OR_MOBILE` (plans such as +1 that do not tell them apart),
 * `TOLL_FREE`, `PREMIUM_RATE`, `SHARED_COST`, `VOIP`, `PERSONAL_NUMBER`, `PAGER`, `UAN`,
 * `VOICEMAIL`; `undefined` when the number is in no assigned range (`valid: false`).
 */
export type PhoneNumberType = NonNullable<NumberType>;

/** A phone number accepted for storage. */
export interface ParsedPhone {
  ok: true;
  /** Canonical E.164, e.g. `+442079460000` (separators and a stray national prefix removed). */
  e164: string;
  /**
   * ISO 3166-1 alpha-2 region, e.g. `GB`. From the number's digits when libphonenumber resolves
   * them; otherwise (a possible but unassigned number on a shared code, e.g. `+1 555 555 5555`)
   * the main region of the calling code (`US` for +1, `GB` for +44, `RU` for +7, `IT` for +39).
   * `null` for non-geographic codes such as +800.
   */
  country: string | null;
  /** Country calling code without "+", e.g. `44`. */
  callingCode: string;
  /**
   * Whether the digits match an assigned number range of the region (full metadata). A
   * possible-but-invalid number has the right length but cannot be expected to receive an SMS;
   * callers may refuse OTP to it or flag it.
   */
  valid: boolean;
  /**
   * The line type of the number's range ({@link PhoneNumberType}), `undefined` when not `valid`.
   * Satellite (+881) ranges are typed `MOBILE` by the metadata: only the country rule
   * (`country: null`) tells them apart.
   */
  type: PhoneNumberType | undefined;
}

/**
 * Parses a phone number given in E.164 form. Spaces and hyphens between digits are tolerated
 * and removed (`+44 20 7946 0000`, `+1-202-555-0123`); any other character, a missing "+", a
 * national-format number, or more than 32 input characters is refused.
 *
 * Accepted when, after removing separators, it is "+" and 8–15 digits, its calling code exists,
 * and libphonenumber calls it *possible* (a length valid for that code's numbering plan). Numbers
 * that are possible but not *valid* (not in an assigned range) are accepted with `valid: false`:
 * numbering plans change faster than deployed metadata, and refusing a real new range would lock
 * users out of registration. Numbers that are not even possible are refused; this includes the
 * seed's `+1234567890` (a +1 number needs 10 national digits; it has 9).
 *
 * Never throws. The input is neither logged nor echoed.
 *
 * @example parsePhone("+44 20 7946 0000") // { ok: true, e164: "+442079460000", country: "GB", callingCode: "44", valid: true, type: "FIXED_LINE" }
 */
export function parsePhone(e164: string): ParsedPhone | { ok: false } {
  if (e164.length > MAX_INPUT_CHARS) return { ok: false };
  const compact = e164.trim().replace(SEPARATORS, "");
  if (!E164.test(compact)) return { ok: false };
  const phone = parsePhoneNumberFromString(compact);
  if (phone === undefined || !phone.isPossible() || !E164.test(phone.number)) return { ok: false };
  const callingCode = phone.countryCallingCode;
  return {
    ok: true,
    e164: phone.number,
    country: phone.country ?? mainCountry(callingCode),
    callingCode,
    valid: phone.isValid(),
    type: phone.getType(),
  };
}

/** First region libphonenumber lists for a calling code (its "main country"), or `null` if non-geographic. */
function mainCountry(callingCode: string): string | null {
  // Typed as CountryCode, but the JSON holds "001" for non-geographic codes.
  const main: string | undefined = metadata.country_calling_codes[callingCode]?.[0];
  return main === undefined || main === NON_GEOGRAPHIC ? null : main;
}
