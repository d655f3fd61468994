/**
 * Envelope encryption for stored personal data (DESIGN §4): a key ring of key-encryption keys
 * (KEKs, one active for writes, older ones still readable) wraps one random data key per record,
 * and the data key encrypts that record's fields. Rotating the master key re-wraps data keys only.
 *
 * ## Envelope string: `v1.<kid>.<iv>.<ct>`
 * - `v1`: format version; anything else is refused.
 * - `<kid>`: which key opens it. For ring envelopes ({@link KeyRing.seal}, wrapped data keys) it is
 *   the ring key id (`[A-Za-z0-9_-]{1,32}`). For field envelopes ({@link DataKey.encryptField}) it
 *   is the fixed marker {@link DATA_KEY_KID} (`dk`) = "this record's own data key", which is why
 *   `dk` cannot be a ring key id.
 * - `<iv>`: 96-bit random IV, `<ct>`: ciphertext || 128-bit tag; both unpadded base64url.
 *
 * ## What the tag authenticates
 * AES-GCM's AAD is `v1.<kid>.<purpose>|<aad>`, where purpose is `seal`, `data-key` or `field` and
 * `<aad>` is the caller's context (use {@link fieldAad} / {@link dataKeyAad}). So the version and
 * kid cannot be edited, a sealed message cannot pass for a wrapped key, and a ciphertext copied to
 * another record, field or user kind fails to open.
 *
 * Every open/unwrap/decrypt failure (format, version, kid, base64url, tag, AAD, length) throws the
 * same opaque {@link CryptoError}.
 */
import { ConfigError, CryptoError } from "../errors";
import { AES_KEY_BYTES, type AesGcmCipher, importAesGcmKey, randomIv, webCryptoAesGcm } from "./aes-gcm";
import { base64UrlDecode, base64UrlEncode, utf8Decode, utf8Encode } from "./encoding";

/** Envelope format version prefix. */
export const ENVELOPE_VERSION = "v1";
/** Key id written into field envelopes: "encrypted under this record's data key". Reserved. */
export const DATA_KEY_KID = "dk";

const KID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const CONTEXT_PART = /^[A-Za-z0-9_-]{1,128}$/;
type Purpose = "seal" | "data-key" | "field";

/** A record's data key, imported once; encrypts and decrypts that record's fields. */
export interface DataKey {
  /**
   * Encrypts a UTF-8 string into a `v1.dk.<iv>.<ct>` envelope bound to `aad`
   * (use {@link fieldAad}). A fresh random IV per call.
   */
  encryptField(plaintext: string, aad: string): Promise<string>;
  /**
   * Opens a field envelope written with the same `aad`.
   * @throws CryptoError on any failure (tampering, wrong record/field/kind, wrong key, bad format).
   */
  decryptField(envelope: string, aad: string): Promise<string>;
}

/** Key ring of AES-256 key-encryption keys, addressed by id, one active for writes. */
export interface KeyRing {
  /** Id of the key new envelopes are written with. */
  readonly activeKeyId: string;
  /** Every key id the ring can open, in configuration order. */
  readonly keyIds: readonly string[];
  /** Encrypts bytes or a UTF-8 string under the active key, bound to `aad`. */
  seal(plaintext: Uint8Array | string, aad: string): Promise<string>;
  /**
   * Opens an envelope written by {@link KeyRing.seal} under any key still in the ring.
   * @throws CryptoError on any failure, including an unknown kid.
   */
  open(envelope: string, aad: string): Promise<Uint8Array>;
  /** {@link KeyRing.open} decoded as UTF-8. @throws CryptoError on any failure. */
  openText(envelope: string, aad: string): Promise<string>;
  /** 32 fresh random bytes: a new record's data key. Wrap it, store the wrapped form only. */
  generateDataKey(): Uint8Array;
  /**
   * Wraps (encrypts) a 32-byte data key under the active key, bound to `aad` (use {@link dataKeyAad}).
   * @throws RangeError when the data key is not 32 bytes.
   */
  wrapDataKey(dataKey: Uint8Array, aad: string): Promise<string>;
  /** Unwraps a data key and imports it. @throws CryptoError on any failure. */
  unwrapDataKey(wrapped: string, aad: string): Promise<DataKey>;
  /**
   * Re-wraps a data key under the active key (master-key rotation; field envelopes stay as they
   * are). Returns the input unchanged when it is already under the active key and opens.
   * @throws CryptoError when the wrapped key does not open.
   */
  rewrapDataKey(wrapped: string, aad: string): Promise<string>;
}

/** Input of {@link createKeyRing}: raw 32-byte keys by id and the id used for writing. */
export interface KeyRingSpec {
  keys: { id: string; key: Uint8Array }[];
  activeKeyId: string;
}

interface ParsedEnvelope {
  kid: string;
  iv: Uint8Array;
  ct: Uint8Array;
}

function checkContextPart(name: string, value: string): void {
  if (!CONTEXT_PART.test(value)) {
    throw new TypeError(`${name} must match ${CONTEXT_PART.source} to keep the AAD unambiguous`);
  }
}

/**
 * The AAD context for one encrypted field of one record: `<kind>|<recordId>|<field>`.
 * Each part must match `[A-Za-z0-9_-]{1,128}`, so the `|` separator can never occur inside a part
 * and two different (kind, record, field) triples never encode to the same string.
 *
 * @example fieldAad("User1", "usr_8Jd…", "email")
 * @throws TypeError when a part is empty, too long, or contains another character.
 */
export function fieldAad(kind: string, recordId: string, field: string): string {
  checkContextPart("kind", kind);
  checkContextPart("recordId", recordId);
  checkContextPart("field", field);
  return `${kind}|${recordId}|${field}`;
}

/**
 * The AAD context for a record's wrapped data key: `<kind>|<recordId>` (same rules as
 * {@link fieldAad}), so a wrapped key copied to another record or kind fails to unwrap.
 * @throws TypeError when a part is empty, too long, or contains another character.
 */
export function dataKeyAad(kind: string, recordId: string): string {
  checkContextPart("kind", kind);
  checkContextPart("recordId", recordId);
  return `${kind}|${recordId}`;
}

/**
 * The key id an envelope claims, without decrypting it; `undefined` when it is not a `v1`
 * envelope. Lets a rotation job find wrapped keys that are not yet under the active key.
 */
export function envelopeKeyId(envelope: string): string | undefined {
  const parts = envelope.split(".");
  return parts.length === 4 && parts[0] === ENVELOPE_VERSION && KID_PATTERN.test(parts[1]!)
    ? parts[1]
    : undefined;
}

function serialize(kid: string, iv: Uint8Array, ct: Uint8Array): string {
  return `${ENVELOPE_VERSION}.${kid}.${base64UrlEncode(iv)}.${base64UrlEncode(ct)}`;
}

function parse(envelope: string): ParsedEnvelope {
  try {
    if (typeof envelope !== "string") throw new TypeError("envelope must be a string");
    const [version, kid, iv, ct, ...rest] = envelope.split(".");
    if (
      version !== ENVELOPE_VERSION ||
      kid === undefined ||
      !KID_PATTERN.test(kid) ||
      iv === undefined ||
      ct === undefined ||
      rest.length > 0
    ) {
      throw new TypeError("malformed envelope");
    }
    return { kid, iv: base64UrlDecode(iv), ct: base64UrlDecode(ct) };
  } catch (error) {
    throw new CryptoError(error);
  }
}

function authenticatedData(kid: string, purpose: Purpose, aad: string): Uint8Array {
  if (typeof aad !== "string") throw new TypeError("aad must be a string");
  return utf8Encode(`${ENVELOPE_VERSION}.${kid}.${purpose}|${aad}`);
}

async function sealWith(
  cipher: AesGcmCipher,
  key: CryptoKey,
  kid: string,
  purpose: Purpose,
  plaintext: Uint8Array,
  aad: string,
) {
  const iv = randomIv();
  const ct = await cipher.encrypt(key, iv, plaintext, authenticatedData(kid, purpose, aad));
  return serialize(kid, iv, ct);
}

async function openWith(
  cipher: AesGcmCipher,
  resolveKey: (kid: string) => CryptoKey | undefined,
  purpose: Purpose,
  envelope: string,
  aad: string,
): Promise<Uint8Array> {
  const { kid, iv, ct } = parse(envelope);
  const key = resolveKey(kid);
  if (key === undefined) throw new CryptoError();
  return cipher.decrypt(key, iv, ct, authenticatedData(kid, purpose, aad));
}

function decodeText(bytes: Uint8Array): string {
  try {
    return utf8Decode(bytes);
  } catch (error) {
    throw new CryptoError(error);
  }
}

/**
 * Imports a raw 32-byte data key as a {@link DataKey}. Used right after
 * {@link KeyRing.generateDataKey} for a new record; existing records go through
 * {@link KeyRing.unwrapDataKey}.
 * @param cipher the AES-256-GCM implementation (WebCrypto unless the runtime supplies another).
 * @throws RangeError when the key is not 32 bytes.
 */
export async function importDataKey(
  rawKey: Uint8Array,
  cipher: AesGcmCipher = webCryptoAesGcm,
): Promise<DataKey> {
  const key = await importAesGcmKey(rawKey);
  const only = (kid: string) => (kid === DATA_KEY_KID ? key : undefined);
  return {
    encryptField: (plaintext, aad) =>
      sealWith(cipher, key, DATA_KEY_KID, "field", utf8Encode(plaintext), aad),
    decryptField: async (envelope, aad) => decodeText(await openWith(cipher, only, "field", envelope, aad)),
  };
}

function validateSpec(spec: KeyRingSpec): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  if (spec.keys.length === 0) problems.push("key ring: at least one key is required");
  for (const { id, key } of spec.keys) {
    if (!KID_PATTERN.test(id)) problems.push(`key ring: key id "${id}" must match ${KID_PATTERN.source}`);
    if (id === DATA_KEY_KID) problems.push(`key ring: key id "${DATA_KEY_KID}" is reserved for data keys`);
    if (seen.has(id)) problems.push(`key ring: duplicate key id "${id}"`);
    seen.add(id);
    if (!(key instanceof Uint8Array) || key.length !== AES_KEY_BYTES) {
      problems.push(`key ring: key "${id}" must be ${AES_KEY_BYTES} bytes`);
    }
  }
  if (!seen.has(spec.activeKeyId))
    problems.push(`key ring: active key id "${spec.activeKeyId}" is not in the ring`);
  return problems;
}

/** Options of {@link createKeyRing}. */
export interface KeyRingOptions {
  /** The AES-256-GCM implementation. @default webCryptoAesGcm (Node functions get node:crypto's). */
  cipher?: AesGcmCipher;
}

/**
 * Builds a {@link KeyRing}, importing every key once as a non-extractable `CryptoKey`.
 *
 * @throws ConfigError listing every problem: no keys, a key not 32 bytes, a malformed, reserved
 *   (`dk`) or duplicate id, or an active id that is not in the ring.
 */
export async function createKeyRing(spec: KeyRingSpec, options: KeyRingOptions = {}): Promise<KeyRing> {
  const cipher = options.cipher ?? webCryptoAesGcm;
  const problems = validateSpec(spec);
  if (problems.length > 0) throw new ConfigError(problems);
  const keys = new Map<string, CryptoKey>();
  for (const { id, key } of spec.keys) keys.set(id, await importAesGcmKey(key));
  const activeKeyId = spec.activeKeyId;
  const activeKey = keys.get(activeKeyId)!;
  const resolve = (kid: string) => keys.get(kid);

  const unwrapRaw = async (wrapped: string, aad: string): Promise<Uint8Array> => {
    const raw = await openWith(cipher, resolve, "data-key", wrapped, aad);
    if (raw.length !== AES_KEY_BYTES) throw new CryptoError();
    return raw;
  };
  const wrap = (dataKey: Uint8Array, aad: string): Promise<string> => {
    if (dataKey.length !== AES_KEY_BYTES) throw new RangeError(`data key must be ${AES_KEY_BYTES} bytes`);
    return sealWith(cipher, activeKey, activeKeyId, "data-key", dataKey, aad);
  };

  return {
    activeKeyId,
    keyIds: Object.freeze([...keys.keys()]),
    seal: (plaintext, aad) =>
      sealWith(
        cipher,
        activeKey,
        activeKeyId,
        "seal",
        typeof plaintext === "string" ? utf8Encode(plaintext) : plaintext,
        aad,
      ),
    open: (envelope, aad) => openWith(cipher, resolve, "seal", envelope, aad),
    openText: async (envelope, aad) => decodeText(await openWith(cipher, resolve, "seal", envelope, aad)),
    generateDataKey: () => crypto.getRandomValues(new Uint8Array(AES_KEY_BYTES)),
    wrapDataKey: async (dataKey, aad) => wrap(dataKey, aad),
    unwrapDataKey: async (wrapped, aad) => {
      const raw = await unwrapRaw(wrapped, aad);
      try {
        return await importDataKey(raw, cipher);
      } finally {
        raw.fill(0);
      }
    },
    rewrapDataKey: async (wrapped, aad) => {
      const raw = await unwrapRaw(wrapped, aad);
      try {
        return envelopeKeyId(wrapped) === activeKeyId ? wrapped : await wrap(raw, aad);
      } finally {
        raw.fill(0);
      }
    },
  };
}
