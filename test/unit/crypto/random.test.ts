import { describe, expect, it } from "vitest";
import { base64UrlDecode, base64UrlEncode, utf8Encode } from "../../../shared/crypto/encoding";
import { hashOtp, type OtpContext, verifyOtp } from "../../../shared/crypto/otp";
import {
  createOpaqueToken,
  hashOpaqueToken,
  randomId,
  randomOtp,
  timingSafeEqual,
} from "../../../shared/crypto/random";

const DRAWS = 10_000;

describe("randomOtp", () => {
  it("always returns exactly 6 digits, leading zeros included", () => {
    const codes = Array.from({ length: DRAWS }, () => randomOtp());
    for (const code of codes) expect(code).toMatch(/^[0-9]{6}$/);
    // P(no code starting with 0 in 10k draws) = 0.9^10000: this cannot flake.
    expect(codes.some((c) => c.startsWith("0"))).toBe(true);
  });

  it("is roughly uniform: every digit appears in every position, each near 10%", () => {
    const counts = Array.from({ length: 6 }, () => new Array<number>(10).fill(0));
    for (let i = 0; i < DRAWS; i++) {
      [...randomOtp()].forEach((d, pos) => {
        counts[pos]![Number(d)]!++;
      });
    }
    // Expected 1000 per cell, standard deviation 30: ±300 is 10σ, so this only fails on real bias.
    for (const position of counts) for (const n of position) expect(n).toBeGreaterThan(700);
    for (const position of counts) for (const n of position) expect(n).toBeLessThan(1300);
  });

  it("has no modulo bias: 9-digit codes below 2^32 mod 10^9 are not over-represented", () => {
    // Plain `word % 1e9` would put 34.3% of codes below 294967296 instead of 29.5% (σ ≈ 0.46%).
    const below = Array.from({ length: DRAWS }, () => Number(randomOtp(9))).filter((n) => n < 294_967_296);
    expect(below.length / DRAWS).toBeGreaterThan(0.27);
    expect(below.length / DRAWS).toBeLessThan(0.32);
  });

  it("supports 1..9 digits and refuses anything else", () => {
    expect(randomOtp(4)).toMatch(/^[0-9]{4}$/);
    expect(randomOtp(9)).toMatch(/^[0-9]{9}$/);
    for (const bad of [0, 10, 1.5, Number.NaN]) expect(() => randomOtp(bad)).toThrow(RangeError);
  });
});

describe("randomId", () => {
  it("is <prefix>_ + 22 base64url characters (128 bits) by default, and unique", () => {
    const ids = Array.from({ length: 1000 }, () => randomId("usr"));
    for (const id of ids) expect(id).toMatch(/^usr_[A-Za-z0-9_-]{22}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("carries full entropy: about half of all 128k bits are set", () => {
    let ones = 0;
    for (let i = 0; i < 1000; i++) {
      for (const byte of base64UrlDecode(randomId("usr").slice(4))) {
        for (let b = byte; b > 0; b >>= 1) ones += b & 1;
      }
    }
    // Expected 64000, σ ≈ 181: ±3000 is >16σ.
    expect(ones).toBeGreaterThan(61_000);
    expect(ones).toBeLessThan(67_000);
  });

  it("takes more bytes on request and refuses fewer than 16 or a malformed prefix", () => {
    expect(randomId("fam", 32)).toMatch(/^fam_[A-Za-z0-9_-]{43}$/);
    expect(() => randomId("usr", 15)).toThrow(RangeError);
    for (const prefix of ["", "Usr", "us_r", "1usr", "u".repeat(17)])
      expect(() => randomId(prefix)).toThrow(RangeError);
  });
});

describe("opaque tokens", () => {
  it("are 256-bit base64url tokens stored as their SHA-256, which differs from the token", () => {
    const { token, hash } = createOpaqueToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(base64UrlDecode(token)).toHaveLength(32);
    expect(hash).toBe(hashOpaqueToken(token));
    expect(hash).not.toBe(token);
    expect(createOpaqueToken().token).not.toBe(token);
  });

  it("hash with SHA-256 (FIPS 180-2 vector for 'abc')", () => {
    const expected = Uint8Array.from(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        .match(/../g)!
        .map((h) => parseInt(h, 16)),
    );
    expect(hashOpaqueToken("abc")).toBe(base64UrlEncode(expected));
  });
});

describe("timingSafeEqual", () => {
  it("is true only for identical content, comparing strings as UTF-8", () => {
    expect(timingSafeEqual("secret-value", "secret-value")).toBe(true);
    expect(timingSafeEqual("", "")).toBe(true);
    expect(timingSafeEqual("secret-value", "secret-valuf")).toBe(false);
    expect(timingSafeEqual("Secret-value", "secret-value")).toBe(false);
    expect(timingSafeEqual("short", "shorter")).toBe(false);
    expect(timingSafeEqual("é", utf8Encode("é"))).toBe(true);
    expect(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
  });
});

describe("hashOtp binds the code to user kind, user and phone", () => {
  const key = new Uint8Array(32).fill(3);
  const ctx: OtpContext = { kind: "User1", userId: "usr_1", phone: "+15551234567", otp: "012345" };

  it("is deterministic, 43 base64url characters, and verifies in constant time", () => {
    const h = hashOtp(key, ctx);
    expect(h).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hashOtp(key, { ...ctx })).toBe(h);
    expect(verifyOtp(key, ctx, h)).toBe(true);
    expect(verifyOtp(key, { ...ctx, otp: "012346" }, h)).toBe(false);
  });

  it("changes when any bound value or the key changes", () => {
    const h = hashOtp(key, ctx);
    for (const changed of [
      { ...ctx, kind: "User2" },
      { ...ctx, userId: "usr_2" },
      { ...ctx, phone: "+15551234568" },
      { ...ctx, otp: "012344" },
    ]) {
      expect(hashOtp(key, changed)).not.toBe(h);
    }
    expect(hashOtp(new Uint8Array(32).fill(4), ctx)).not.toBe(h);
  });

  it("cannot be confused by moving characters between fields", () => {
    const a = hashOtp(key, { kind: "User1", userId: "usr_1", phone: "|+1555", otp: "1" });
    const b = hashOtp(key, { kind: "User1", userId: "usr_1|", phone: "+1555", otp: "1" });
    expect(a).not.toBe(b);
  });

  it("refuses keys shorter than 16 bytes", () => {
    expect(() => hashOtp(new Uint8Array(15), ctx)).toThrow(RangeError);
  });
});
