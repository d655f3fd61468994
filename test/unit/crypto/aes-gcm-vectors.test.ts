import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { describe, expect, it } from "vitest";
import { nodeAesGcm } from "../../../shared/adapters/node-aes-gcm";
import {
  type AesGcmCipher,
  importAesGcmKey,
  randomIv,
  webCryptoAesGcm,
} from "../../../shared/crypto/aes-gcm";
import { CryptoError } from "../../../shared/errors";
import vectors from "../../fixtures/aes-256-gcm-vectors.json";

interface Vector {
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
}

const unpack = (v: Vector) => ({
  key: hexToBytes(v.key),
  iv: hexToBytes(v.iv),
  aad: hexToBytes(v.aad),
  msg: hexToBytes(v.msg),
  sealed: hexToBytes(v.ct + v.tag),
});

const [mv96, mvOtherIv] = [vectors.mcgrewViega.slice(0, 4), vectors.mcgrewViega.slice(4)];
const wycheValid = vectors.wycheproof.filter((v) => v.result === "valid");
const wycheInvalid = vectors.wycheproof.filter((v) => v.result === "invalid");

const implementations: [string, AesGcmCipher][] = [
  ["WebCrypto", webCryptoAesGcm],
  ["node:crypto", nodeAesGcm],
];

describe.each(implementations)("AES-256-GCM (%s) matches published known-answer vectors", (_name, cipher) => {
  const aesGcmEncrypt = cipher.encrypt;
  const aesGcmDecrypt = cipher.decrypt;
  it("has the vectors it claims (the fixture is not silently empty)", () => {
    expect(mv96.map((v) => v.name)).toEqual(["Test Case 13", "Test Case 14", "Test Case 15", "Test Case 16"]);
    expect(wycheValid.length).toBeGreaterThanOrEqual(5);
    expect(wycheInvalid.length).toBeGreaterThanOrEqual(5);
  });

  it.each(mv96)("McGrew–Viega $name: encryption gives the published ciphertext and tag", async (v) => {
    const { key, iv, aad, msg, sealed } = unpack(v);
    expect(bytesToHex(await aesGcmEncrypt(key, iv, msg, aad))).toBe(bytesToHex(sealed));
    expect(bytesToHex(await aesGcmDecrypt(key, iv, sealed, aad))).toBe(v.msg);
  });

  it.each(mvOtherIv)("McGrew–Viega $name: a non-96-bit IV is refused (encrypt and decrypt)", async (v) => {
    const { key, iv, aad, msg, sealed } = unpack(v);
    expect(iv.length).not.toBe(12);
    await expect(aesGcmEncrypt(key, iv, msg, aad)).rejects.toThrow(RangeError);
    await expect(aesGcmDecrypt(key, iv, sealed, aad)).rejects.toBeInstanceOf(CryptoError);
  });

  it.each(wycheValid)("Wycheproof tcId $tcId ($flags): valid vector round-trips exactly", async (v) => {
    const { key, iv, aad, msg, sealed } = unpack(v);
    expect(bytesToHex(await aesGcmEncrypt(key, iv, msg, aad))).toBe(bytesToHex(sealed));
    expect(bytesToHex(await aesGcmDecrypt(key, iv, sealed, aad))).toBe(v.msg);
  });

  it.each(wycheInvalid)(
    "Wycheproof tcId $tcId ($comment): modified tag is rejected with CryptoError",
    async (v) => {
      const { key, iv, aad, sealed } = unpack(v);
      const error = await aesGcmDecrypt(key, iv, sealed, aad).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CryptoError);
      expect((error as CryptoError).code).toBe("decryption_failed");
    },
  );

  it("a truncated input (shorter than the tag) is rejected with CryptoError", async () => {
    const { key, iv, aad, sealed } = unpack(mv96[1]!);
    await expect(aesGcmDecrypt(key, iv, sealed.slice(0, 15), aad)).rejects.toBeInstanceOf(CryptoError);
  });
});

describe("the two AES-256-GCM implementations are interchangeable", () => {
  it("each opens what the other sealed, with imported and raw keys, and both refuse a changed AAD", async () => {
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const key = await importAesGcmKey(raw);
    for (const [sealer, opener] of [
      [webCryptoAesGcm, nodeAesGcm],
      [nodeAesGcm, webCryptoAesGcm],
    ] as const) {
      for (const length of [0, 1, 15, 16, 17, 1000]) {
        const iv = randomIv();
        const aad = new TextEncoder().encode(`v1.k1.seal|User1:usr_1:${length}`);
        const msg = crypto.getRandomValues(new Uint8Array(length));
        const sealed = await sealer.encrypt(key, iv, msg, aad);
        expect(sealed.length).toBe(length + 16);
        expect(bytesToHex(await opener.decrypt(key, iv, sealed, aad))).toBe(bytesToHex(msg));
        expect(bytesToHex(await opener.decrypt(raw, iv, sealed, aad))).toBe(bytesToHex(msg));
        await expect(opener.decrypt(key, iv, sealed, new Uint8Array([1]))).rejects.toBeInstanceOf(
          CryptoError,
        );
      }
    }
  });

  it("node:crypto refuses a raw key that is not 32 bytes, as WebCrypto does", async () => {
    const iv = randomIv();
    await expect(
      nodeAesGcm.encrypt(new Uint8Array(16), iv, new Uint8Array(1), new Uint8Array()),
    ).rejects.toThrow(RangeError);
    await expect(
      nodeAesGcm.decrypt(new Uint8Array(16), iv, new Uint8Array(32), new Uint8Array()),
    ).rejects.toBeInstanceOf(CryptoError);
  });
});
