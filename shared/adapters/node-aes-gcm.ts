import { createCipheriv, createDecipheriv, KeyObject } from "node:crypto";
import { AES_KEY_BYTES, type AesGcmCipher, GCM_IV_BYTES, GCM_TAG_BYTES } from "../crypto/aes-gcm";
import { CryptoError } from "../errors";

const keyObjects = new WeakMap<CryptoKey, KeyObject>();

/** The key as Node's cipher takes it: a `KeyObject` (converted once per CryptoKey) or the raw bytes. */
function keyOf(key: CryptoKey | Uint8Array): KeyObject | Uint8Array {
  if (key instanceof Uint8Array) {
    if (key.length !== AES_KEY_BYTES) throw new RangeError(`AES-256 key must be ${AES_KEY_BYTES} bytes`);
    return key;
  }
  let object = keyObjects.get(key);
  if (object === undefined) {
    object = KeyObject.from(key);
    if (object.symmetricKeySize !== AES_KEY_BYTES)
      throw new RangeError(`AES-256 key must be ${AES_KEY_BYTES} bytes`);
    keyObjects.set(key, object);
  }
  return object;
}

const asBytes = (buffer: Buffer): Uint8Array =>
  new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);

/**
 * AES-256-GCM through `node:crypto` (the same OpenSSL WebCrypto uses in Node), synchronous inside:
 * no trip to the crypto thread pool per call, which made WebCrypto's decryption the largest single
 * cost of a session read. Same contract as the WebCrypto implementation ({@link AesGcmCipher}:
 * 12-byte IV, 16-byte tag fixed when the cipher is created so a truncated tag is never accepted,
 * NIST SP 800-38D); the known-answer tests run against both. Node-only: the composition root
 * hands it to the key ring of Node functions.
 */
export const nodeAesGcm: AesGcmCipher = {
  async encrypt(key, iv, plaintext, aad) {
    if (iv.length !== GCM_IV_BYTES) throw new RangeError(`GCM IV must be ${GCM_IV_BYTES} bytes`);
    const cipher = createCipheriv("aes-256-gcm", keyOf(key), iv, { authTagLength: GCM_TAG_BYTES });
    cipher.setAAD(aad);
    return asBytes(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]));
  },
  async decrypt(key, iv, ciphertextWithTag, aad) {
    try {
      if (iv.length !== GCM_IV_BYTES || ciphertextWithTag.length < GCM_TAG_BYTES) {
        throw new RangeError("bad GCM input length");
      }
      const split = ciphertextWithTag.length - GCM_TAG_BYTES;
      const decipher = createDecipheriv("aes-256-gcm", keyOf(key), iv, { authTagLength: GCM_TAG_BYTES });
      decipher.setAAD(aad);
      decipher.setAuthTag(ciphertextWithTag.subarray(split));
      return asBytes(
        Buffer.concat([decipher.update(ciphertextWithTag.subarray(0, split)), decipher.final()]),
      );
    } catch (error) {
      throw new CryptoError(error);
    }
  },
};
