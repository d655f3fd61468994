import type { AccessTokensOptions } from "../crypto/tokens";
import type { Config } from "./schema";

/** The access-token settings of a configuration, as `createAccessTokens` takes them (one mapping for every caller). */
export function accessTokenOptions(config: Config): AccessTokensOptions {
  return {
    algorithm: config.jwt.algorithm,
    ...(config.jwt.secret ? { secret: config.jwt.secret } : {}),
    ...(config.jwt.privateJwk ? { privateJwk: config.jwt.privateJwk } : {}),
    issuer: config.jwt.issuer,
    ttlSeconds: config.jwt.accessTokenTtlSeconds,
    clockToleranceSeconds: config.jwt.clockToleranceSeconds,
  };
}
