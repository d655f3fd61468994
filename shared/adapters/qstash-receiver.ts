import { Receiver } from "@upstash/qstash";
import { ConfigError } from "../errors";
import type { SignatureVerifier } from "../ports/notifications";

/** Options of {@link createSignatureVerifier}. */
export interface SignatureVerifierOptions {
  /** `QSTASH_CURRENT_SIGNING_KEY`. */
  currentSigningKey: string;
  /** `QSTASH_NEXT_SIGNING_KEY`: accepted too, so key rotation never drops deliveries. */
  nextSigningKey: string;
  /** Allowed clock skew for `exp`/`nbf`, seconds. @default 0 */
  clockToleranceSeconds?: number;
}

/**
 * Creates the delivery-signature check with the real `@upstash/qstash` `Receiver`: HS256 JWT
 * (RFC 7519) with `iss: "Upstash"`, `exp`/`nbf` enforced, tried with the current then the next key,
 * `sub` compared with `url` and the `body` claim with SHA-256 of the raw body. Any failure,
 * including a missing header or a malformed token, yields `false`.
 *
 * The `jti` is not checked by the Receiver, so a captured delivery can be replayed for up to five
 * minutes: consumers de-duplicate on `Upstash-Message-Id` (DESIGN.md §7).
 * `devMode: false` keeps `QSTASH_DEV` from swapping in the SDK's public dev keys.
 *
 * @throws ConfigError when a signing key is empty.
 */
export function createSignatureVerifier(options: SignatureVerifierOptions): SignatureVerifier {
  const problems: string[] = [];
  if (!options.currentSigningKey) problems.push("QSTASH_CURRENT_SIGNING_KEY: must not be empty");
  if (!options.nextSigningKey) problems.push("QSTASH_NEXT_SIGNING_KEY: must not be empty");
  if (problems.length > 0) throw new ConfigError(problems);
  const receiver = new Receiver({
    currentSigningKey: options.currentSigningKey,
    nextSigningKey: options.nextSigningKey,
    devMode: false,
  });
  const clockTolerance = options.clockToleranceSeconds ?? 0;
  return {
    async verify({ signature, rawBody, url }) {
      if (!signature) return false;
      try {
        return await receiver.verify({ signature, body: rawBody, url, clockTolerance });
      } catch {
        // SignatureError, or a TypeError for a token without a `body` claim: all mean "not QStash".
        return false;
      }
    },
  };
}
