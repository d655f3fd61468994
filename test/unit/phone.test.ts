import { describe, expect, it } from "vitest";
import { parsePhone } from "../../shared/accounts/phone";

describe("parsePhone: valid numbers in E.164", () => {
  it.each([
    ["US", "+12025550123", "1", "FIXED_LINE_OR_MOBILE"],
    ["GB", "+442079460000", "44", "FIXED_LINE"],
    ["IN", "+919876543210", "91", "MOBILE"],
    ["DE", "+4930123456", "49", "FIXED_LINE"],
    ["DE", "+4915123456789", "49", "MOBILE"],
  ])("derives %s from %s, and its line type", (country, number, callingCode, type) => {
    expect(parsePhone(number)).toEqual({ ok: true, e164: number, country, callingCode, valid: true, type });
  });

  it("resolves regions that share a calling code from the digits (+1 Canada, +1 Dominican Republic, +7 Kazakhstan, +44 Jersey)", () => {
    expect(parsePhone("+16135550123")).toMatchObject({ country: "CA", callingCode: "1" });
    expect(parsePhone("+18095550123")).toMatchObject({ country: "DO", callingCode: "1" });
    expect(parsePhone("+77012345678")).toMatchObject({ country: "KZ", callingCode: "7" });
    expect(parsePhone("+441534123456")).toMatchObject({ country: "JE", callingCode: "44" });
  });
});

describe("parsePhone: possible but not valid numbers", () => {
  it("accepts them with valid: false and the calling code's main region", () => {
    expect(parsePhone("+15555555555")).toEqual({
      ok: true,
      e164: "+15555555555",
      country: "US",
      callingCode: "1",
      valid: false,
      type: undefined,
    });
    // Ofcom's drama range: the right length for +44, not an assigned mobile range.
    expect(parsePhone("+447700900123")).toMatchObject({ ok: true, country: "GB", valid: false });
  });

  it("gives no region for non-geographic calling codes", () => {
    expect(parsePhone("+80012345678")).toEqual({
      ok: true,
      e164: "+80012345678",
      country: null,
      callingCode: "800",
      valid: true,
      type: "TOLL_FREE",
    });
  });
});

describe("parsePhone: the seed's example", () => {
  it("refuses +1234567890: nine national digits are not a possible +1 number", () => {
    expect(parsePhone("+1234567890")).toEqual({ ok: false });
  });

  it("accepts the real-shaped +12345678901 (area code 234, Ohio)", () => {
    expect(parsePhone("+12345678901")).toMatchObject({ ok: true, country: "US", valid: true });
  });
});

describe("parsePhone: formatting", () => {
  it("normalises spaces and hyphens of the international notation to canonical E.164", () => {
    expect(parsePhone("+44 20 7946 0000")).toMatchObject({ ok: true, e164: "+442079460000", country: "GB" });
    expect(parsePhone("+1-202-555-0123")).toMatchObject({ ok: true, e164: "+12025550123", country: "US" });
    expect(parsePhone(" +91 98765 43210 ")).toMatchObject({ ok: true, e164: "+919876543210" });
  });

  it("drops a national trunk prefix written after the calling code", () => {
    expect(parsePhone("+44 020 7946 0000")).toMatchObject({ ok: true, e164: "+442079460000" });
  });

  it.each([
    ["no plus sign", "12025550123"],
    ["national format", "020 7946 0000"],
    ["international call prefix instead of +", "0044 20 7946 0000"],
    ["parentheses", "+1 (202) 555-0123"],
    ["dots", "+1.202.555.0123"],
    ["an extension", "+12025550123 ext. 5"],
    ["letters", "+1202555CALL"],
    ["non-ASCII digits", "+１２０２５５５０１２３"],
    ["a calling code starting with 0", "+0123456789"],
    ["an unassigned calling code", "+999123456789"],
    ["too few digits", "+4930123"],
    ["more than 15 digits", "+4930123456789012"],
    ["a length impossible for the plan", "+4420794600000"],
    ["empty", ""],
    ["only a plus", "+"],
    ["garbage", "not a phone"],
    ["an over-long input", `+1 ${" ".repeat(40)}2025550123`],
    ["a control character", "+1202555\u00000123"],
  ])("refuses %s", (_why, input) => {
    expect(parsePhone(input)).toEqual({ ok: false });
  });
});
