import { describe, expect, it } from "vitest";
import {
  createRecoveryCodes,
  findRecoveryCode,
  hashRecoveryCode,
  normaliseRecoveryCode,
  RECOVERY_CODE_COUNT,
} from "../../../shared/crypto/recovery-codes";
import { createTotpSecret, matchTotp, totpCode, totpUri } from "../../../shared/crypto/totp";

/** RFC 6238 Appendix B: the SHA-1 seed "12345678901234567890" (ASCII), base32. */
const RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
/** RFC 6238 Appendix B SHA-1 rows: unix time (s) → 8-digit TOTP; a 6-digit code is its last 6 digits. */
const RFC_VECTORS: [number, string][] = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"],
];

describe("TOTP (RFC 6238)", () => {
  it.each(RFC_VECTORS)("matches the RFC 6238 SHA-1 test vector at T=%i", (seconds, eight) => {
    const code = eight.slice(2);
    expect(totpCode(RFC_SECRET, seconds * 1000)).toBe(code);
    expect(matchTotp(RFC_SECRET, code, seconds * 1000)).toBe(Math.floor(seconds / 30));
  });

  it("accepts one step either side and names the step the code belongs to; refuses two steps away", () => {
    const now = 1_234_567_890_000;
    const step = Math.floor(now / 30_000);
    expect(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, now - 30_000), now)).toBe(step - 1);
    expect(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, now + 30_000), now)).toBe(step + 1);
    expect(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, now + 60_000), now)).toBeNull();
    expect(matchTotp(RFC_SECRET, totpCode(RFC_SECRET, now - 60_000), now)).toBeNull();
  });

  it("refuses anything that is not exactly 6 digits", () => {
    const now = 59_000;
    for (const bad of ["", "28708", "2870822", "28708a", " 287082", "94287082"]) {
      expect(matchTotp(RFC_SECRET, bad, now)).toBeNull();
    }
  });

  it("creates 160-bit base32 secrets and Key Uri Format URIs", () => {
    const a = createTotpSecret();
    expect(a).toMatch(/^[A-Z2-7]{32}$/);
    expect(createTotpSecret()).not.toBe(a);
    const uri = new URL(totpUri(a, "Acme Auth", "ada@example.com"));
    expect(uri.protocol).toBe("otpauth:");
    expect(decodeURIComponent(uri.pathname)).toBe("/Acme Auth:ada@example.com");
    expect(Object.fromEntries(uri.searchParams)).toEqual({
      issuer: "Acme Auth",
      secret: a,
      algorithm: "SHA1",
      digits: "6",
      period: "30",
    });
  });
});

describe("recovery codes", () => {
  const key = new Uint8Array(32).fill(7);
  const ctx = { kind: "User1", userId: "usr_a" };

  it("makes 10 distinct codes of 12 unambiguous characters in two groups", () => {
    const codes = createRecoveryCodes();
    expect(codes).toHaveLength(RECOVERY_CODE_COUNT);
    expect(new Set(codes).size).toBe(RECOVERY_CODE_COUNT);
    for (const code of codes) expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{6}-[0-9a-hjkmnp-tv-z]{6}$/);
  });

  it("normalises case, spaces and hyphens, and refuses wrong lengths or characters", () => {
    expect(normaliseRecoveryCode(" K3V9QA 7hx2mf ")).toBe("k3v9qa7hx2mf");
    expect(normaliseRecoveryCode("k3v9qa-7hx2m")).toBeNull();
    expect(normaliseRecoveryCode("k3v9qa-7hx2mi")).toBeNull(); // "i" is not in the alphabet
  });

  it("finds a code by its keyed hash, bound to the kind and user", () => {
    const codes = createRecoveryCodes();
    const hashes = codes.map((c) => hashRecoveryCode(key, ctx, normaliseRecoveryCode(c) as string));
    expect(findRecoveryCode(key, ctx, hashes, (codes[4] as string).toUpperCase())).toBe(4);
    expect(findRecoveryCode(key, { ...ctx, userId: "usr_b" }, hashes, codes[4] as string)).toBe(-1);
    expect(findRecoveryCode(key, { ...ctx, kind: "User2" }, hashes, codes[4] as string)).toBe(-1);
    expect(findRecoveryCode(new Uint8Array(32).fill(8), ctx, hashes, codes[4] as string)).toBe(-1);
    expect(findRecoveryCode(key, ctx, hashes, "000000-000000")).toBe(-1);
    for (const h of hashes) expect(h).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
