import { translations } from "@zxcvbn-ts/language-en";
import { describe, expect, it } from "vitest";
import { ANALYSED_CODE_POINTS, createPasswordPolicy } from "../../shared/accounts/password-policy";
import { ConfigError } from "../../shared/errors";

const policy = createPasswordPolicy({ minLength: 8, maxBytes: 256, minScore: 3 });
const JOHN = ["John", "Doe", "john.doe@example.com"];
const ZEBULON = ["Zebulon", "Quartermaine", "zquartermaine@example.com"];
const PERSONAL = translations.warnings.userInputs; // "There should not be any personal or page related data."
const TOO_SHORT = "Use at least 8 characters.";
const TOO_LONG = "Use a shorter password: at most 256 bytes (256 ASCII characters, fewer in other scripts).";

const reasonsOf = (password: string, context: string[] = []) => {
  const result = policy.check(password, context);
  return result.ok ? [] : result.reasons;
};

describe("password policy: common and guessable passwords (NIST SP 800-63B blocklist check via zxcvbn)", () => {
  it("rejects 'password' as heavily used", () => {
    expect(policy.check("password", [])).toEqual({
      ok: false,
      reasons: ["This is a heavily used password.", "Add more words that are less common."],
    });
  });

  it("rejects 'Password1!' although it satisfies classic composition rules", () => {
    expect(reasonsOf("Password1!")).toContain("This is similar to a commonly used password.");
  });

  it.each(["12345678", "qwertyuiop", "P@ssw0rd", "password123", "iloveyou"])("rejects %s", (password) => {
    expect(reasonsOf(password).length).toBeGreaterThan(0);
  });

  it("accepts long random-word passphrases without any symbol or digit (no composition rules)", () => {
    expect(policy.check("tulip gravity ember lantern", JOHN)).toEqual({ ok: true });
    expect(policy.check("correct horse battery staple", JOHN)).toEqual({ ok: true });
  });

  it("accepts a strong mixed password as zxcvbn scores it (Str0ng!Passw0rd#2024 scores 4)", () => {
    expect(policy.check("Str0ng!Passw0rd#2024", JOHN)).toEqual({ ok: true });
  });
});

describe("password policy: the user's own names and email count against the password", () => {
  it("rejects johndoe1985 for John Doe, naming personal data as the reason", () => {
    expect(reasonsOf("johndoe1985", JOHN)).toContain(PERSONAL);
  });

  it("rejects a password accepted for others when it is the user's own surname plus a year", () => {
    expect(policy.check("Quartermaine1985", [])).toEqual({ ok: true });
    expect(reasonsOf("Quartermaine1985", ZEBULON)).toContain(PERSONAL);
  });

  it("rejects the user's email local part plus digits", () => {
    expect(policy.check("zquartermaine85", [])).toEqual({ ok: true });
    expect(reasonsOf("zquartermaine85", ZEBULON)).toContain(PERSONAL);
  });

  it("ignores empty or blank context entries", () => {
    expect(policy.check("Quartermaine1985", ["", "   "])).toEqual({ ok: true });
  });
});

describe("password policy: length in characters, cap in bytes", () => {
  it("rejects fewer than 8 characters, whatever the content", () => {
    expect(reasonsOf("Xq7#Lm2")).toContain(TOO_SHORT);
    expect(policy.check("", [])).toEqual({ ok: false, reasons: [TOO_SHORT] });
  });

  it("counts code points, not UTF-16 units: 7 emoji are too short, 8 are long enough", () => {
    const emoji = ["🦊", "🪐", "🧩", "🎯", "🚀", "🌍", "🗝", "🔐"];
    expect(emoji.slice(0, 7).join("")).toHaveLength(14); // 14 UTF-16 units, still 7 characters
    expect(reasonsOf(emoji.slice(0, 7).join(""))).toContain(TOO_SHORT);
    expect(reasonsOf(emoji.join(""))).not.toContain(TOO_SHORT);
  });

  it("caps by UTF-8 bytes: 129 'é' (258 bytes) is too long, 128 (256 bytes) is not", () => {
    expect(policy.check("é".repeat(129), [])).toEqual({ ok: false, reasons: [TOO_LONG] });
    expect(reasonsOf("é".repeat(128))).not.toContain(TOO_LONG);
  });

  it("caps ASCII at 256 characters and accepts a strong password of exactly 256", () => {
    const strong = "tulip gravity ember lantern ".repeat(10).slice(0, 256);
    expect(new TextEncoder().encode(strong)).toHaveLength(256);
    expect(policy.check(strong, [])).toEqual({ ok: true });
    expect(policy.check(`${strong}x`, [])).toEqual({ ok: false, reasons: [TOO_LONG] });
  });

  it(`judges strength on the first ${ANALYSED_CODE_POINTS} code points only (bounded zxcvbn cost)`, () => {
    const weakPrefix = `${"a".repeat(ANALYSED_CODE_POINTS)}tulip gravity ember lantern`;
    expect(policy.check(weakPrefix, []).ok).toBe(false);
  });
});

describe("password policy: reasons", () => {
  const fixedTexts = new Set<string>([
    ...Object.values(translations.warnings),
    ...Object.values(translations.suggestions),
    TOO_SHORT,
    TOO_LONG,
    "This password is too easy to guess. Add more words or characters that are hard to predict.",
  ]);
  const samples = [
    "password",
    "Password1!",
    "johndoe1985",
    "Quartermaine1985",
    "abcabcabcabc",
    "qwertyuiop",
    "2024-05-17",
    "zyxwvuts",
    "secret",
    "hunter2hunter2",
    "MyDogRex",
    "Xq7#Lm2",
    "aaaaaaaaaaaa",
  ];

  it("come only from fixed texts (zxcvbn translations, length rules), so they cannot echo the password", () => {
    for (const password of samples) {
      const reasons = reasonsOf(password, [...JOHN, ...ZEBULON]);
      expect(reasons.length).toBeGreaterThan(0);
      for (const reason of reasons) {
        expect(fixedTexts.has(reason)).toBe(true);
      }
    }
  });

  it("are listed once each", () => {
    for (const password of samples) {
      const reasons = reasonsOf(password);
      expect(new Set(reasons).size).toBe(reasons.length);
    }
  });
});

describe("password policy: robustness and configuration", () => {
  it("never throws on odd strings (lone surrogates, controls, combining marks, RTL)", () => {
    for (const password of [
      "\uD800\uDC00\uD800xxxxxxx",
      "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007",
      "e\u0301".repeat(20),
      "\u202Eabcdefghij",
    ]) {
      expect(() => policy.check(password, ["\uDFFF", "\u0000"])).not.toThrow();
    }
  });

  it("honours a stricter configuration (NIST rev. 4's 15 characters for single-factor passwords)", () => {
    const strict = createPasswordPolicy({ minLength: 15, maxBytes: 256, minScore: 4 });
    expect(strict.check("Quartermaine1985", [])).toMatchObject({ ok: false });
    expect(strict.check("tulip gravity ember lantern", [])).toEqual({ ok: true });
  });

  it.each([
    { minLength: 0, maxBytes: 256, minScore: 3 },
    { minLength: 8.5, maxBytes: 256, minScore: 3 },
    { minLength: 8, maxBytes: 31, minScore: 3 },
    { minLength: 8, maxBytes: 256, minScore: 5 },
    { minLength: 8, maxBytes: 256, minScore: -1 },
  ])("rejects options %o as a ConfigError", (opts) => {
    expect(() => createPasswordPolicy(opts)).toThrow(ConfigError);
  });
});
