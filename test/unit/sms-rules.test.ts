import { getCountries } from "libphonenumber-js/max";
import { describe, expect, it } from "vitest";
import { parsePhone } from "../../shared/accounts/phone";
import { smsDestinationRefusal } from "../../shared/accounts/sms-guard";
import { parseConfig } from "../../shared/config/schema";
import { DEFAULT_SMS_ALLOWED_COUNTRIES } from "../../shared/config/sms";
import { ConfigError } from "../../shared/errors";

/**
 * The SMS destination rule (issue #14 item 4, finding F4) and its configuration. The budgets run in
 * Redis and are tested through the API: `test/security/sms-abuse.security.test.ts`.
 */
const VALID = {
  JWT_SECRET: "k3Jd9sL2mQ8vX1zR7tY4uW6pN0aB5cE!",
  ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
  EMAIL_SALT: "p0Q9w8E7r6T5y4U3i2O1-blind-index",
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig({ ...VALID, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("SMS_ALLOWED_COUNTRIES and the SMS budgets (configuration)", () => {
  it("defaults to North America, the UK and Ireland, the EEA, Switzerland, Australia and New Zealand", () => {
    const { smsRules } = parseConfig(VALID);
    expect(smsRules.allowedCountries).toEqual(DEFAULT_SMS_ALLOWED_COUNTRIES);
    expect(smsRules.allowedCountries).toHaveLength(36);
    expect(smsRules).toMatchObject({ accountDailyLimit: 10, numberAccountDailyLimit: 5, hourlyBudget: 1000 });
  });

  it("reads a list in any case and spacing, without duplicates", () => {
    const config = parseConfig({ ...VALID, SMS_ALLOWED_COUNTRIES: " us, gb,DE ,us" });
    expect(config.smsRules.allowedCountries).toEqual(["US", "GB", "DE"]);
  });

  it.each([
    ["UK", /"UK" is not an ISO 3166-1 code: the United Kingdom is "GB"/],
    ["US,EU", /"EU" is not an ISO 3166-1 alpha-2 country code/],
    ["ZZ", /"ZZ" is not an ISO 3166-1 alpha-2 country code/],
    ["XX", /"XX" is not an ISO 3166-1 alpha-2 country code/],
    ["USA", /"USA" is not two letters A-Z/],
    ["+1", /"\+1" is not two letters A-Z/],
    [",", /empty list/],
  ])("refuses %j at configuration time", (value, message) => {
    const problems = problemsOf({ SMS_ALLOWED_COUNTRIES: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^SMS_ALLOWED_COUNTRIES: expected comma-separated ISO 3166-1 alpha-2/);
    expect(problems[0]).toMatch(message);
  });

  it("accepts every region libphonenumber can place a number in", () => {
    const all = getCountries().join(",");
    expect(parseConfig({ ...VALID, SMS_ALLOWED_COUNTRIES: all }).smsRules.allowedCountries).toHaveLength(
      getCountries().length,
    );
  });

  it("refuses limits out of range, and a per-(number, account) cap above the per-account cap", () => {
    expect(
      problemsOf({ SMS_HOURLY_BUDGET: "0", SMS_ACCOUNT_DAILY_LIMIT: "x" })
        .map((p) => p.split(":")[0])
        .sort(),
    ).toEqual(["SMS_ACCOUNT_DAILY_LIMIT", "SMS_HOURLY_BUDGET"]);
    expect(problemsOf({ SMS_ACCOUNT_DAILY_LIMIT: "3", SMS_NUMBER_ACCOUNT_DAILY_LIMIT: "4" })).toEqual([
      "SMS_NUMBER_ACCOUNT_DAILY_LIMIT: must not exceed SMS_ACCOUNT_DAILY_LIMIT (3)",
    ]);
  });
});

describe("smsDestinationRefusal (allowed: the default list)", () => {
  const allowed = new Set(DEFAULT_SMS_ALLOWED_COUNTRIES);
  const verdict = (phone: string) => smsDestinationRefusal(parsePhone(phone), allowed);

  it.each([
    ["a US number (+1 does not tell mobile from fixed)", "+14155552671"],
    ["a UK mobile", "+447400123456"],
    ["a German mobile", "+4915123456789"],
    ["a French mobile", "+33612345678"],
  ])("allows %s", (_, phone) => {
    expect(verdict(phone)).toBeNull();
  });

  it.each([
    ["+881 satellite (typed MOBILE by the metadata)", "+881631234567"],
    ["+882 international networks", "+8823451234567"],
    ["+800 international freephone", "+80012345678"],
    ["Nigeria, not in the default list", "+2348031234567"],
    ["Lebanon, not in the default list", "+96176123456"],
  ])("refuses %s by country", (_, phone) => {
    expect(verdict(phone)).toBe("sms_country_not_allowed");
  });

  it.each([
    ["a UK fixed line", "+442079460000"],
    ["a French fixed line", "+33123456789"],
    ["US premium rate", "+19005551234"],
    ["US toll free", "+18005551234"],
    ["a US personal number (+1 500)", "+15005550006"],
    ["an unassigned UK range (Ofcom drama numbers)", "+447700900123"],
    ["something that is not a number", "+1234"],
  ])("refuses %s by number type", (_, phone) => {
    expect(verdict(phone)).toBe("sms_number_type_not_allowed");
  });

  it("refuses a mobile of a country the list leaves out, and allows it once listed", () => {
    expect(smsDestinationRefusal(parsePhone("+37120012345"), allowed)).toBeNull(); // Latvia: in the EU list
    expect(smsDestinationRefusal(parsePhone("+37120012345"), new Set(["US"]))).toBe(
      "sms_country_not_allowed",
    );
    expect(smsDestinationRefusal(parsePhone("+2348031234567"), new Set(["NG"]))).toBeNull();
  });
});
