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

/** The 6-bit value of `text[i]`, or -1 when it is not in the alphabet. */
function sextet(lookup: Int16Array, text: string, i: number): number {
  const code = text.charCodeAt(i);
  return code < 128 ? lookup[code]! : -1;
}

// One pass, four characters at a time; a character outside the alphabet makes the OR negative.
function decode(lookup: Int16Array, text: string, name: string): Uint8Array {
  const tail = text.length % 4;
  if (tail === 1) throw new TypeError(`Invalid ${name}: bad length`);
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  const whole = text.length - tail;
  let o = 0;
  for (let i = 0; i < whole; i += 4) {
    const a = sextet(lookup, text, i);
    const b = sextet(lookup, text, i + 1);
    const c = sextet(lookup, text, i + 2);
    const d = sextet(lookup, text, i + 3);
    if ((a | b | c | d) < 0) throw new TypeError(`Invalid ${name}: unexpected character`);
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  if (tail === 0) return out;
  const a = sextet(lookup, text, whole);
  const b = sextet(lookup, text, whole + 1);
  const c = tail === 3 ? sextet(lookup, text, whole + 2) : 0;
  if ((a | b | c) < 0) throw new TypeError(`Invalid ${name}: unexpected character`);
  if (tail === 2) {
    if ((b & 15) !== 0) throw new TypeError(`Invalid ${name}: non-canonical`);
    out[o] = (a << 2) | (b >> 4);
  } else {
    if ((c & 3) !== 0) throw new TypeError(`Invalid ${name}: non-canonical`);
    const n = (a << 10) | (b << 4) | (c >> 2);
    out[o++] = n >> 8;
    out[o] = n & 255;
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
