/**
 * Byte/string encodings used by the crypto core, written against Web APIs only (no `Buffer`), so
 * they run on Node, Lambda and edge runtimes alike.
 *
 * Decoders are strict on purpose: they accept exactly one spelling per byte string (no padding, no
 * foreign characters, zero trailing bits). A lenient decoder would let two different envelope
 * strings decode to the same bytes, which makes "any change to the stored string is detected"
 * false and breaks equality checks on encoded values.
 */

const URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const STD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

function lookupTable(alphabet: string): Int16Array {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
}
const URL_LOOKUP = lookupTable(URL_ALPHABET);
const STD_LOOKUP = lookupTable(STD_ALPHABET);

function encode(alphabet: string, bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]!;
  }
  return out;
}

function decode(lookup: Int16Array, text: string, name: string): Uint8Array {
  const tail = text.length % 4;
  if (tail === 1) throw new TypeError(`Invalid ${name}: bad length`);
  const values = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? lookup[code]! : -1;
    if (v < 0) throw new TypeError(`Invalid ${name}: unexpected character`);
    values[i] = v;
  }
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let o = 0;
  let i = 0;
  for (; i + 3 < values.length; i += 4) {
    const n = (values[i]! << 18) | (values[i + 1]! << 12) | (values[i + 2]! << 6) | values[i + 3]!;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  if (tail === 2) {
    if ((values[i + 1]! & 15) !== 0) throw new TypeError(`Invalid ${name}: non-canonical`);
    out[o++] = (values[i]! << 2) | (values[i + 1]! >> 4);
  } else if (tail === 3) {
    if ((values[i + 2]! & 3) !== 0) throw new TypeError(`Invalid ${name}: non-canonical`);
    const n = (values[i]! << 10) | (values[i + 1]! << 4) | (values[i + 2]! >> 2);
    out[o++] = n >> 8;
    out[o++] = n & 255;
  }
  return out;
}

/** Encodes bytes as unpadded base64url (RFC 4648 §5). */
export function base64UrlEncode(bytes: Uint8Array): string {
  return encode(URL_ALPHABET, bytes);
}

/**
 * Decodes unpadded, canonical base64url (RFC 4648 §5).
 * @throws TypeError on padding, a character outside the alphabet, or non-zero trailing bits.
 */
export function base64UrlDecode(text: string): Uint8Array {
  return decode(URL_LOOKUP, text, "base64url");
}

/** Encodes bytes as unpadded standard base64, the "B64" of the PHC string format. */
export function base64Encode(bytes: Uint8Array): string {
  return encode(STD_ALPHABET, bytes);
}

/**
 * Decodes unpadded, canonical standard base64 (PHC "B64").
 * @throws TypeError on padding, a character outside the alphabet, or non-zero trailing bits.
 */
export function base64Decode(text: string): Uint8Array {
  return decode(STD_LOOKUP, text, "base64");
}

/** UTF-8 bytes of a string (lone surrogates become U+FFFD, as TextEncoder does). */
export function utf8Encode(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text);
}

/**
 * Decodes UTF-8 bytes to a string.
 * @throws TypeError on malformed UTF-8 (fatal decoder: no silent U+FFFD replacement).
 */
export function utf8Decode(bytes: Uint8Array): string {
  return strictDecoder.decode(bytes);
}

/**
 * Returns the bytes as a `Uint8Array` backed by a plain `ArrayBuffer`, the shape WebCrypto's
 * `BufferSource` typing accepts; copies only when the input is backed by something else.
 */
export function asBufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}
