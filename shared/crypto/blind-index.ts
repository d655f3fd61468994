/**
 * Email normalisation and the blind index that lets the store look a user up by email without
 * keeping the email in clear (DESIGN §4): HMAC-SHA-256 under a dedicated key over
 * `kind + ":" + normalizeEmail(email)`.
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { AuthError } from "../errors";
import { base64UrlEncode, utf8Encode } from "./encoding";

const MIN_KEY_BYTES = 16;
const KIND_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_LOCAL_BYTES = 64; // RFC 5321 §4.5.3.1.1
const MAX_ADDRESS_BYTES = 254; // RFC 5321 path limit (256) minus the angle brackets
const MAX_DOMAIN_CHARS = 253;
// Control characters, white space, and RFC 5322 "specials" that only appear in quoted local parts
// (not supported) or would change how the address is parsed.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this rejects
const BAD_LOCAL = /[\u0000-\u001f\u007f-\u009f\s"(),:;<>@[\\\]]/u;
// Anything that would make the URL parser read something other than a host (path, query, port,
// credentials, IPv6 literal, percent-escapes), plus control characters and white space.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this rejects
const BAD_DOMAIN = /[\u0000-\u001f\u007f-\u009f\s/?#@:\\[\]%]/u;
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const byteLength = (s: string) => utf8Encode(s).length;

function invalidEmail(): AuthError {
  return new AuthError("invalid_email");
}

function asciiDomain(domain: string): string {
  if (domain.length === 0 || BAD_DOMAIN.test(domain)) throw invalidEmail();
  let host: string;
  try {
    // WHATWG URL host parsing = UTS #46 processing + Punycode: the same IDNA every browser uses,
    // available on every runtime without a Node-only dependency.
    host = new URL(`http://${domain}`).hostname;
  } catch {
    throw invalidEmail();
  }
  const labels = host.split(".");
  const tld = labels[labels.length - 1] ?? "";
  if (
    host.length > MAX_DOMAIN_CHARS ||
    labels.length < 2 ||
    !labels.every((label) => LDH_LABEL.test(label)) ||
    // An all-numeric last label means the parser read an IPv4 address (it also accepts `0x7f.1`).
    /^[0-9]+$/.test(tld)
  ) {
    throw invalidEmail();
  }
  return host;
}

/**
 * Canonical form of an email address, for the blind index and uniqueness. The rule:
 *
 * 1. Trim surrounding white space; apply Unicode NFC to the whole address, so NFC and NFD spellings
 *    of the same characters (`é` vs `e` + U+0301) are the same address.
 * 2. Split at the last `@`. Both parts must be non-empty.
 * 3. Local part: `toLowerCase()` (Unicode default case mapping, locale-independent), then NFC
 *    again. Nothing else: no NFKC, no dot removal, no `+tag` stripping, because mail systems
 *    deliver those to different mailboxes and the index must not merge two people. Consequences:
 *    `JOHN` = `john`; fullwidth `ＪＯＨＮ` = `ｊｏｈｎ` but ≠ `john`; dotless `ı` ≠ `i`;
 *    `İ` (U+0130) becomes `i̇` (i + U+0307), ≠ `i`; `ß` stays `ß` (≠ `ss`); a final capital sigma
 *    lower-cases to `ς` as the Unicode rule says.
 *    Rejected: control characters, white space, `"(),:;<>@[\]` (quoted local parts are not
 *    supported), more than 64 UTF-8 bytes.
 * 4. Domain: the WHATWG URL parser's host processing (`new URL("http://" + domain).hostname`),
 *    i.e. UTS #46 mapping and Punycode. That folds case and width and maps IDN to ASCII, so
 *    `Bücher.DE`, `bücher.de` and `xn--bcher-kva.de` are one domain — correctly, since DNS
 *    resolves them to the same host. Rejected: anything the parser refuses, IP addresses,
 *    single-label hosts, empty or non-LDH labels, a trailing dot, more than 253 characters.
 * 5. The result is `<local>@<ascii-domain>`, at most 254 UTF-8 bytes.
 *
 * @throws AuthError `invalid_email` (422) when the address is unusable under these rules.
 */
export function normalizeEmail(raw: string): string {
  if (typeof raw !== "string") throw invalidEmail();
  const address = raw.trim().normalize("NFC");
  const at = address.lastIndexOf("@");
  if (at <= 0 || at === address.length - 1) throw invalidEmail();
  const local = address.slice(0, at).toLowerCase().normalize("NFC");
  if (BAD_LOCAL.test(local) || byteLength(local) > MAX_LOCAL_BYTES) throw invalidEmail();
  const normalized = `${local}@${asciiDomain(address.slice(at + 1))}`;
  if (byteLength(normalized) > MAX_ADDRESS_BYTES) throw invalidEmail();
  return normalized;
}

/**
 * Builds the blind-index function: `(kind, email) =>` base64url(HMAC-SHA-256(key,
 * `kind + ":" + normalizeEmail(email)`)), 43 characters. Equal for addresses that
 * {@link normalizeEmail} treats as equal, different across user kinds, and useless to anyone
 * without the key (no dictionary attack over known emails).
 *
 * @param key HMAC key, at least 16 bytes; dedicated (never the encryption key). Copied.
 * @throws RangeError when the key is shorter than 16 bytes.
 * The returned function throws TypeError for a kind outside `[A-Za-z0-9_-]{1,64}` (a `:` in the
 * kind would make the message ambiguous) and AuthError `invalid_email` (422) for a bad address.
 */
export function createBlindIndex(key: Uint8Array): (kind: string, email: string) => string {
  if (!(key instanceof Uint8Array) || key.length < MIN_KEY_BYTES) {
    throw new RangeError(`blind-index key must be at least ${MIN_KEY_BYTES} bytes`);
  }
  const ownKey = Uint8Array.from(key);
  return (kind, email) => {
    if (!KIND_PATTERN.test(kind)) throw new TypeError(`kind must match ${KIND_PATTERN.source}`);
    return base64UrlEncode(hmac(sha256, ownKey, utf8Encode(`${kind}:${normalizeEmail(email)}`)));
  };
}
