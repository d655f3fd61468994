import { describe, expect, it } from "vitest";
import { createBlindIndex, normalizeEmail } from "../../../shared/crypto/blind-index";
import { AuthError } from "../../../shared/errors";

const index = createBlindIndex(new Uint8Array(32).fill(7));
const same = (a: string, b: string, kind = "User1") => expect(index(kind, a)).toBe(index(kind, b));
const differ = (a: string, b: string, kind = "User1") => expect(index(kind, a)).not.toBe(index(kind, b));

describe("normalizeEmail: the documented rule", () => {
  it("trims, lower-cases ASCII in both parts", () => {
    expect(normalizeEmail("  JOHN@Example.COM \n")).toBe("john@example.com");
    same("JOHN@Example.COM", "john@example.com");
  });

  it("keeps dots and +tags (mail systems deliver those to different mailboxes)", () => {
    differ("john.doe@gmail.com", "johndoe@gmail.com");
    differ("john+news@gmail.com", "john@gmail.com");
    expect(normalizeEmail("John.Doe+News@GMAIL.com")).toBe("john.doe+news@gmail.com");
  });

  it("dotless ı stays distinct from i, and I lower-cases to i whatever the locale", () => {
    differ("jıll@example.com", "jill@example.com");
    same("JILL@example.com", "jill@example.com");
    expect(normalizeEmail("JILL@example.com")).toBe("jill@example.com");
  });

  it("İ (U+0130) lower-cases to i + U+0307, which is not i", () => {
    expect(normalizeEmail("\u0130lker@example.com")).toBe("i\u0307lker@example.com");
    differ("\u0130lker@example.com", "ilker@example.com");
    same("\u0130lker@example.com", "i\u0307lker@example.com");
  });

  it("fullwidth letters fold case among themselves but never become ASCII in the local part", () => {
    same("ＪＯＨＮ@example.com", "ｊｏｈｎ@example.com");
    differ("ｊｏｈｎ@example.com", "john@example.com");
    expect(normalizeEmail("ＪＯＨＮ@example.com")).toBe("ｊｏｈｎ@example.com");
  });

  it("ß is not expanded to ss and compatibility characters are not folded in the local part", () => {
    differ("straße@example.de", "strasse@example.de");
    differ("ﬁnn@example.com", "finn@example.com"); // U+FB01 ligature
  });

  it("NFC and NFD spellings of é are the same address (local part and domain)", () => {
    const nfc = "ren\u00e9@caf\u00e9.fr";
    const nfd = "rene\u0301@cafe\u0301.fr";
    expect(nfc).not.toBe(nfd);
    same(nfc, nfd);
    expect(normalizeEmail(nfd)).toBe(normalizeEmail(nfc));
  });

  it("an IDN domain in Unicode and in punycode gives the same index", () => {
    expect(normalizeEmail("anna@bücher.de")).toBe("anna@xn--bcher-kva.de");
    same("anna@bücher.de", "anna@xn--bcher-kva.de");
    same("anna@BÜCHER.de", "anna@xn--bcher-kva.de");
  });

  it("the domain gets UTS #46 mapping (fullwidth letters and dots resolve to the same host)", () => {
    expect(normalizeEmail("a@ｅｘａｍｐｌｅ．ｃｏｍ")).toBe("a@example.com");
    expect(normalizeEmail("a@example。com")).toBe("a@example.com");
  });

  it("different user kinds give different indexes for the same address", () => {
    expect(index("User1", "a@example.com")).not.toBe(index("User2", "a@example.com"));
  });

  it("different keys give different indexes (keyed, not a plain hash)", () => {
    const other = createBlindIndex(new Uint8Array(32).fill(8));
    expect(other("User1", "a@example.com")).not.toBe(index("User1", "a@example.com"));
  });

  it("outputs 43 base64url characters (256-bit HMAC)", () => {
    expect(index("User1", "a@example.com")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it.each([
    ["no at sign", "john.example.com"],
    ["empty local part", "@example.com"],
    ["empty domain", "john@"],
    ["space inside", "jo hn@example.com"],
    ["control character", "jo\u0000hn@example.com"],
    ["quoted local part", '"john"@example.com'],
    ["two at signs", "a@b@example.com"],
    ["single-label domain", "john@localhost"],
    ["IPv4 domain", "john@127.0.0.1"],
    ["hex IPv4 the URL parser would accept", "john@0x7f.1"],
    ["IP literal", "john@[127.0.0.1]"],
    ["path smuggled into the domain", "john@evil.com/example.com"],
    ["port in the domain", "john@example.com:25"],
    ["percent escape in the domain", "john@exa%6dple.com"],
    ["empty label", "john@example..com"],
    ["trailing dot", "john@example.com."],
    ["non-LDH label", "john@-example.com"],
    ["invalid punycode", "john@xn--abc.com"],
    ["local part over 64 bytes", `${"a".repeat(65)}@example.com`],
    [
      "address over 254 bytes",
      `${"a".repeat(64)}@${["b", "c", "d", "e"].map((c) => c.repeat(60)).join(".")}.com`,
    ],
  ])("rejects an unusable address (%s) with invalid_email 422", (_why, address) => {
    let error: unknown;
    try {
      normalizeEmail(address);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe("invalid_email");
    expect((error as AuthError).status).toBe(422);
  });
});

describe("createBlindIndex guards its inputs", () => {
  it("refuses keys shorter than 16 bytes", () => {
    expect(() => createBlindIndex(new Uint8Array(15))).toThrow(RangeError);
  });

  it("refuses kinds that could make the HMAC message ambiguous", () => {
    expect(() => index("User1:x", "a@example.com")).toThrow(TypeError);
    expect(() => index("", "a@example.com")).toThrow(TypeError);
  });

  it("is unaffected by later mutation of the caller's key buffer", () => {
    const key = new Uint8Array(32).fill(1);
    const f = createBlindIndex(key);
    const before = f("User1", "a@example.com");
    key.fill(2);
    expect(f("User1", "a@example.com")).toBe(before);
  });
});
