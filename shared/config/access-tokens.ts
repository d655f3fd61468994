import type { AccessTokensOptions } from "../crypto/tokens";
import type { Config } from "./schema";

/**
 * The access-token settings of a configuration, as `createAccessTokens` takes them (one mapping for
 * every caller). Reads only the key of the configured algorithm: the HS256 secret, or the private
 * JWK of EdDSA/ES256 (so a function not granted `JwtSecret` can still publish an asymmetric key).
 */
export function accessTokenOptions(config: Config): AccessTokensOptions {
  const { algorithm } = config.jwt;
  const secret = algorithm === "HS256" ? config.jwt.secret : undefined;
  const privateJwk = algorithm === "HS256" ? undefined : config.jwt.privateJwk;
  return {
    algorithm,
    ...(secret ? { secret } : {}),
    ...(privateJwk ? { privateJwk } : {}),
    issuer: config.jwt.issuer,
    ttlSeconds: config.jwt.accessTokenTtlSeconds,
    clockToleranceSeconds: config.jwt.clockToleranceSeconds,
  };
}
