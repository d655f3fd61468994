import * as z from "zod";
import { intIn, optionalString } from "./fields";
import { type Problem, type Section, settle } from "./section";
import { isWeakSecret, utf8Length } from "./weak-secrets";

/** How access tokens are signed and checked. */
export interface JwtConfig {
  jwt: {
    algorithm: "HS256" | "EdDSA" | "ES256";
    /** HS256 shared secret (UTF-8 string, ≥32 bytes). */
    secret: string | undefined;
    /** EdDSA/ES256 private key as a JWK object (must carry `kid`). */
    privateJwk: Record<string, unknown> | undefined;
    /** The `iss` claim: `JWT_ISSUER`, else the public URL of the API. */
    issuer: string;
    accessTokenTtlSeconds: number;
    clockToleranceSeconds: number;
  };
}

/** Variables of the JWT section. */
export const jwtEnv = z.object({
  JWT_SECRET: optionalString,
  JWT_ALGORITHM: z.enum(["HS256", "EdDSA", "ES256"]).default("HS256"),
  JWT_PRIVATE_JWK: optionalString,
  JWT_ISSUER: optionalString,
  ACCESS_TOKEN_TTL_SECONDS: intIn(60, 86_400, 1800),
  JWT_CLOCK_TOLERANCE_SECONDS: intIn(1, 300, 5),
});

type JwtEnv = z.output<typeof jwtEnv>;

/** The HS256 secret's problem, if any: absent, shorter than 32 bytes, or weak in production. */
function secretProblem(secret: string | undefined, production: boolean): Problem | undefined {
  const variable = "JWT_SECRET";
  if (secret === undefined)
    return { variable, message: "required for HS256: a random string of at least 32 bytes" };
  if (utf8Length(secret) < 32) return { variable, message: "too short: at least 32 bytes" };
  if (production && isWeakSecret(secret, 32))
    return { variable, message: "weak or placeholder secret refused in production: use 32+ random bytes" };
  return undefined;
}

/** `JWT_PRIVATE_JWK` as an object with `d` and `kid`, or `undefined` when absent or not such JSON. */
function privateJwkOf(raw: string | undefined): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  try {
    const jwk: unknown = JSON.parse(raw);
    if (typeof jwk === "object" && jwk !== null && "d" in jwk && "kid" in jwk)
      return jwk as Record<string, unknown>;
  } catch {
    // Not JSON: reported as a missing key below.
  }
  return undefined;
}

/**
 * Checks the signing key of the chosen algorithm: HS256 needs `JWT_SECRET` (≥32 bytes, not a
 * placeholder in production); EdDSA and ES256 need `JWT_PRIVATE_JWK`, a private JWK with `kid`.
 * Whether the JWK is a usable key pair is checked when tokens are created (`shared/crypto/tokens`).
 * @param appUrl the public URL, the issuer when `JWT_ISSUER` is not set.
 */
export function parseJwt(
  env: JwtEnv,
  { production, appUrl }: { production: boolean; appUrl: string },
): Section<JwtConfig> {
  const problems: Problem[] = [];
  let privateJwk: Record<string, unknown> | undefined;
  if (env.JWT_ALGORITHM === "HS256") {
    const problem = secretProblem(env.JWT_SECRET, production);
    if (problem) problems.push(problem);
  } else {
    privateJwk = privateJwkOf(env.JWT_PRIVATE_JWK);
    if (privateJwk === undefined)
      problems.push({
        variable: "JWT_PRIVATE_JWK",
        message: `required for ${env.JWT_ALGORITHM}: a private JWK (JSON with "d" and "kid")`,
      });
  }
  return settle(problems, () => ({
    jwt: {
      algorithm: env.JWT_ALGORITHM,
      secret: env.JWT_SECRET,
      privateJwk,
      issuer: env.JWT_ISSUER ?? appUrl,
      accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
      clockToleranceSeconds: env.JWT_CLOCK_TOLERANCE_SECONDS,
    },
  }));
}
