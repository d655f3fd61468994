import { describe, expect, it } from "vitest";
import {
  base64Decode,
  base64Encode,
  base64UrlDecode,
  base64UrlEncode,
  utf8Decode,
  utf8Encode,
} from "../../../shared/crypto/encoding";

const RFC4648 = [
  ["", ""],
  ["f", "Zg"],
  ["fo", "Zm8"],
  ["foo", "Zm9v"],
  ["foob", "Zm9vYg"],
  ["fooba", "Zm9vYmE"],
  ["foobar", "Zm9vYmFy"],
] as const;

describe("base64url / base64 encoders", () => {
  it.each(RFC4648)("match RFC 4648 §10 test vectors without padding (%j)", (plain, encoded) => {
    expect(base64UrlEncode(utf8Encode(plain))).toBe(encoded);
    expect(utf8Decode(base64UrlDecode(encoded))).toBe(plain);
    expect(base64Encode(utf8Encode(plain))).toBe(encoded);
  });

  it("agree with Node's Buffer for every length 0..80 (url and standard alphabets)", () => {
    for (let n = 0; n <= 80; n++) {
      const bytes = crypto.getRandomValues(new Uint8Array(n));
      expect(base64UrlEncode(bytes)).toBe(Buffer.from(bytes).toString("base64url"));
      expect(base64Encode(bytes)).toBe(Buffer.from(bytes).toString("base64").replace(/=+$/, ""));
      expect(base64UrlDecode(base64UrlEncode(bytes))).toEqual(bytes);
      expect(base64Decode(base64Encode(bytes))).toEqual(bytes);
    }
  });

  it("decoders accept exactly one spelling: no padding, foreign alphabet, bad length or stray bits", () => {
    for (const bad of ["Zg==", "Zh", "Zm9=", "Zm9vY", "Zm+v", "Zm/v", "Zm 9v", "Zm9vé"]) {
      expect(() => base64UrlDecode(bad)).toThrow(TypeError);
    }
    for (const bad of ["Zg==", "Zh", "Zm-v", "Zm_v", "A"]) expect(() => base64Decode(bad)).toThrow(TypeError);
  });

  it("utf8Decode is fatal on malformed UTF-8", () => {
    expect(() => utf8Decode(new Uint8Array([0xc3, 0x28]))).toThrow(TypeError);
  });
});
