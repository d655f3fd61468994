import * as z from "zod";
import { intIn } from "./fields";
import { type Section, settle } from "./section";

/**
 * Where and how much the service may send by SMS, against SMS pumping ("artificially inflated
 * traffic": toll fraud through the codes an attacker makes the service send; security findings F4,
 * F10). Read by `shared/accounts/sms-guard.ts`.
 */
export interface SmsConfig {
  /** The destination rules and budgets (the Twilio account is `sms`, in the providers section). */
  smsRules: {
    /** ISO 3166-1 alpha-2 regions an SMS may go to, upper case, e.g. `["US", "GB"]`; never empty. */
    allowedCountries: readonly string[];
    /** Most SMS one account may cause per day, over all numbers. */
    accountDailyLimit: number;
    /** Most SMS one account may send to one number per day. */
    numberAccountDailyLimit: number;
    /** Most SMS the whole service (every kind) sends per hour: the spend ceiling. */
    hourlyBudget: number;
  };
}

/**
 * The default destinations: North America, the UK and Ireland, the EU/EEA and Switzerland,
 * Australia and New Zealand. A deployment serving elsewhere lists its own countries; nothing is
 * allowed by a wildcard.
 */
export const DEFAULT_SMS_ALLOWED_COUNTRIES: readonly string[] = [
  ...["US", "CA", "GB", "IE", "AU", "NZ", "CH", "NO", "IS", "LI"],
  // EU member states.
  ...["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IT"],
  ...["LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"],
];

/**
 * Region codes that Unicode CLDR names but ISO 3166-1 does not assign to a country: unions and
 * groupings (`EU`, `EZ`, `UN`, `QO`), "unknown" (`ZZ`), and `UK`, reserved by ISO for the United
 * Kingdom, whose code is `GB` (the usual slip, so it gets its own message).
 */
const NOT_COUNTRIES = new Set(["EU", "EZ", "UN", "QO", "ZZ", "UK"]);

/** CLDR's region names; `of()` answers `undefined` for a code it does not know (fallback "none"). */
let regionNames: Intl.DisplayNames | undefined;

/** Why `code` is not an ISO 3166-1 alpha-2 country code, or `undefined` when it is one. */
function countryCodeProblem(code: string): string | undefined {
  if (!/^[A-Z]{2}$/.test(code)) return `${JSON.stringify(code)} is not two letters A-Z`;
  if (code === "UK") return `"UK" is not an ISO 3166-1 code: the United Kingdom is "GB"`;
  regionNames ??= new Intl.DisplayNames(["en"], { type: "region", fallback: "none" });
  if (NOT_COUNTRIES.has(code) || regionNames.of(code) === undefined)
    return `${JSON.stringify(code)} is not an ISO 3166-1 alpha-2 country code`;
  return undefined;
}

/**
 * `SMS_ALLOWED_COUNTRIES`: comma-separated ISO 3166-1 alpha-2 codes (case and spaces ignored, e.g.
 * `us, gb,DE`), checked against CLDR's region list; absent or empty means
 * {@link DEFAULT_SMS_ALLOWED_COUNTRIES}. Refused: anything else, and a list that ends up empty.
 */
const countryList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === "") return DEFAULT_SMS_ALLOWED_COUNTRIES;
    const codes = v
      .split(",")
      .map((c) => c.trim().toUpperCase())
      .filter((c) => c !== "");
    const problems = codes.map(countryCodeProblem).filter((p) => p !== undefined);
    if (problems.length > 0 || codes.length === 0) {
      ctx.addIssue({
        code: "custom",
        message: `expected comma-separated ISO 3166-1 alpha-2 country codes (e.g. "US,GB"): ${problems.join("; ") || "empty list"}`,
      });
      return z.NEVER;
    }
    return [...new Set(codes)];
  });

/** Variables of the SMS section. */
export const smsEnv = z.object({
  SMS_ALLOWED_COUNTRIES: countryList,
  SMS_ACCOUNT_DAILY_LIMIT: intIn(1, 1000, 10),
  SMS_NUMBER_ACCOUNT_DAILY_LIMIT: intIn(1, 1000, 5),
  SMS_HOURLY_BUDGET: intIn(1, 1_000_000, 1000),
});

/** Maps the SMS variables; a per-(number, account) cap above the per-account cap would never apply. */
export function parseSms(env: z.output<typeof smsEnv>): Section<SmsConfig> {
  const problems =
    env.SMS_NUMBER_ACCOUNT_DAILY_LIMIT > env.SMS_ACCOUNT_DAILY_LIMIT
      ? [
          {
            variable: "SMS_NUMBER_ACCOUNT_DAILY_LIMIT",
            message: `must not exceed SMS_ACCOUNT_DAILY_LIMIT (${env.SMS_ACCOUNT_DAILY_LIMIT})`,
          },
        ]
      : [];
  return settle(problems, () => ({
    smsRules: {
      allowedCountries: env.SMS_ALLOWED_COUNTRIES,
      accountDailyLimit: env.SMS_ACCOUNT_DAILY_LIMIT,
      numberAccountDailyLimit: env.SMS_NUMBER_ACCOUNT_DAILY_LIMIT,
      hourlyBudget: env.SMS_HOURLY_BUDGET,
    },
  }));
}
