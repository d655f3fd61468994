import { describe, expect, it } from "vitest";
import { parseRefreshRecord } from "../../shared/accounts/refresh-tokens";

/** The stored refresh record carries the session's factor level (`amr`, RFC 8176) through every rotation. */
describe("refresh record amr", () => {
  const base = { userId: "usr_a", familyId: "rtf_b", issuedAtSeconds: 1_700_000_000, epoch: 2 };

  it("reads a record written before amr existed as a password-only session", () => {
    expect(parseRefreshRecord(JSON.stringify(base))?.amr).toEqual(["pwd"]);
  });

  it("keeps a stored amr as it is", () => {
    const amr = ["pwd", "otp", "mfa"];
    expect(parseRefreshRecord(JSON.stringify({ ...base, amr }))?.amr).toEqual(amr);
  });

  it.each([
    ["not an array", "pwd"],
    ["a non-string value", ["pwd", 1]],
    ["an odd value", ["pwd", "<script>"]],
  ])("refuses a record whose amr is %s (no session on a record it cannot read)", (_, amr) => {
    expect(parseRefreshRecord(JSON.stringify({ ...base, amr }))).toBeNull();
  });
});
