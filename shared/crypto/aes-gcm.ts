/**
 * AES-256-GCM primitive over WebCrypto (`globalThis.crypto.subtle`), the one place the service
 * calls the cipher. Envelopes ({@link ./envelope}) build on these functions, and the known-answer
 * tests (McGrew–Viega, Wycheproof) exercise them directly.
 *
 * Restricted to what NIST SP 800-38D recommends for random nonces: a 256-bit key, a 96-bit IV and
 * the full 128-bit tag. Other IV lengths go through GHASH and have caused real bugs (Wycheproof
 * "LongIv"/"CounterWrap"); other tag lengths weaken forgery resistance. Both are refused.
 */
import { CryptoError } from "../errors";
import { asBufferSource } from "./encoding";

/** Key length of AES-256 in bytes. */
export const AES_KEY_BYTES = 32;
/** GCM IV (nonce) length in bytes: 96 bits, per NIST SP 800-38D §8.2.2 for random IVs. */
export const GCM_IV_BYTES = 12;
/** GCM authentication tag length in bytes (128 bits), appended to the ciphertext. */
export const GCM_TAG_BYTES = 16;

const ALGORITHM = "AES-GCM";

/**
 * Imports a raw 32-byte key as a non-extractable AES-GCM `CryptoKey` for encrypt and decrypt.
 * Import once and reuse: each WebCrypto import is a round trip to the runtime's crypto thread.
 *
 * @throws RangeError when the key is not exactly 32 bytes.
 */
export async function importAesGcmKey(rawKey: Uint8Array): Promise<CryptoKey> {
  if (rawKey.length !== AES_KEY_BYTES) throw new RangeError(`AES-256 key must be ${AES_KEY_BYTES} bytes`);
  return crypto.subtle.importKey("raw", asBufferSource(rawKey), { name: ALGORITHM }, false, [
    "encrypt",
    "decrypt",
  ]);
}

async function toKey(key: CryptoKey | Uint8Array): Promise<CryptoKey> {
  return key instanceof Uint8Array ? importAesGcmKey(key) : key;
}

/**
 * Encrypts with AES-256-GCM and returns `ciphertext || tag` (tag = last 16 bytes), the layout
 * WebCrypto and most libraries use.
 *
 * The caller supplies the IV so known-answer vectors can be reproduced; production code draws a
 * fresh random one per message ({@link randomIv}). Never reuse an IV under the same key: that
 * reveals the XOR of the plaintexts and the GHASH key.
 *
 * @param key a `CryptoKey` from {@link importAesGcmKey}, or 32 raw bytes (imported per call).
 * @param iv exactly 12 bytes.
 * @param aad additional authenticated data (may be empty).
 * @throws RangeError when the IV is not 12 bytes or a raw key is not 32 bytes.
 */
export async function aesGcmEncrypt(
  key: CryptoKey | Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  if (iv.length !== GCM_IV_BYTES) throw new RangeError(`GCM IV must be ${GCM_IV_BYTES} bytes`);
  const sealed = await crypto.subtle.encrypt(
    {
      name: ALGORITHM,
      iv: asBufferSource(iv),
      additionalData: asBufferSource(aad),
      tagLength: GCM_TAG_BYTES * 8,
    },
    await toKey(key),
    asBufferSource(plaintext),
  );
  return new Uint8Array(sealed);
}

/**
 * Verifies and decrypts AES-256-GCM `ciphertext || tag`.
 *
 * @throws CryptoError (`decryption_failed`) on ANY failure: wrong IV length, input shorter than a
 *   tag, bad tag, wrong key or AAD. One opaque error so callers cannot become an oracle.
 */
export async function aesGcmDecrypt(
  key: CryptoKey | Uint8Array,
  iv: Uint8Array,
  ciphertextWithTag: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  try {
    if (iv.length !== GCM_IV_BYTES || ciphertextWithTag.length < GCM_TAG_BYTES) {
      throw new RangeError("bad GCM input length");
    }
    const plain = await crypto.subtle.decrypt(
      {
        name: ALGORITHM,
        iv: asBufferSource(iv),
        additionalData: asBufferSource(aad),
        tagLength: GCM_TAG_BYTES * 8,
      },
      await toKey(key),
      asBufferSource(ciphertextWithTag),
    );
    return new Uint8Array(plain);
  } catch (error) {
    throw new CryptoError(error);
  }
}

/** A fresh 96-bit IV from the platform CSPRNG (`crypto.getRandomValues`). */
export function randomIv(): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(GCM_IV_BYTES));
}

/**
 * An AES-256-GCM implementation with the contract of {@link aesGcmEncrypt} and
 * {@link aesGcmDecrypt}: `ciphertext || tag` layout, 12-byte IVs and 16-byte tags only, a
 * RangeError for a bad IV or raw key on encryption, one opaque CryptoError for any failure to
 * decrypt. {@link webCryptoAesGcm} is the portable one; a runtime may supply a faster one with
 * the same contract (Node: `shared/adapters/node-aes-gcm.ts`), chosen by the composition root.
 */
export interface AesGcmCipher {
  encrypt(
    key: CryptoKey | Uint8Array,
    iv: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array,
  ): Promise<Uint8Array>;
  decrypt(
    key: CryptoKey | Uint8Array,
    iv: Uint8Array,
    ciphertextWithTag: Uint8Array,
    aad: Uint8Array,
  ): Promise<Uint8Array>;
}

/** AES-256-GCM over WebCrypto (any runtime). */
export const webCryptoAesGcm: AesGcmCipher = { encrypt: aesGcmEncrypt, decrypt: aesGcmDecrypt };
