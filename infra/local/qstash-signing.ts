import { base64url, SignJWT } from "jose";

/** Lifetime of a delivery signature, as QStash issues it (`exp = iat + 300`). */
export const QSTASH_SIGNATURE_TTL_SECONDS = 300;

/** Input of {@link signQstashDelivery}. */
export interface QstashDeliverySigningInput {
  /** The signing key string itself (`sig_…`); its UTF-8 bytes are the HMAC key, it is not base64-decoded. */
  signingKey: string;
  /** Destination URL exactly as published: the receiver compares it with `sub`. */
  url: string;
  /** Raw delivered body bytes; their SHA-256 goes into the `body` claim. */
  body: Uint8Array;
  /** Issue time in Unix seconds; defaults to now. */
  issuedAtSeconds?: number;
}

/**
 * Builds the `Upstash-Signature` JWT for one delivery, the way QStash does (protocols.md §2):
 * HS256, `iss: "Upstash"`, `sub` = destination URL, `iat`, `nbf = iat`, `exp = iat + 300`,
 * `jti: "jwt_<random>"`, `body` = base64url(SHA-256(raw body)) without padding (the real
 * `Receiver` strips padding on both sides). RFC 7519 (JWT), RFC 7515 (JWS), RFC 4648 §5.
 *
 * @returns the compact JWS.
 */
export async function signQstashDelivery(input: QstashDeliverySigningInput): Promise<string> {
  const issuedAt = input.issuedAtSeconds ?? Math.floor(Date.now() / 1000);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(input.body)));
  const jti = `jwt_${base64url.encode(crypto.getRandomValues(new Uint8Array(12)))}`;
  return new SignJWT({ body: base64url.encode(digest) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("Upstash")
    .setSubject(input.url)
    .setIssuedAt(issuedAt)
    .setNotBefore(issuedAt)
    .setExpirationTime(issuedAt + QSTASH_SIGNATURE_TTL_SECONDS)
    .setJti(jti)
    .sign(new TextEncoder().encode(input.signingKey));
}
