/**
 * JWT access tokens (DESIGN §5) with jose: RFC 9068-style `at+jwt` tokens carrying `iss`, `sub`
 * (user id), `aud` (user kind), `iat`, `exp`, `jti`. HS256 with a shared secret by default; EdDSA
 * (Ed25519) or ES256 with a published JWKS so other services can verify without the secret.
 *
 * Verification pins the one configured algorithm (no `none`, no HS256-with-the-public-key
 * confusion), the issuer, the audience and `typ`, requires `sub`/`jti`/`exp`/`iat`, rejects `iat`
 * or `nbf` in the future and tokens older than the TTL, all with a small clock tolerance
 * (RFC 8725 §3, RFC 9068 §4). Every failure is the same `invalid_token` error.
 */
import type { JWK, JWTPayload } from "jose";
import { SignJWT } from "jose/jwt/sign";
import { jwtVerify } from "jose/jwt/verify";
import { importJWK } from "jose/key/import";
import { AuthError, ConfigError } from "../errors";
import { base64UrlEncode, utf8Encode } from "./encoding";
import { randomBytes } from "./random";

/** Signing algorithms supported for access tokens. */
export type AccessTokenAlgorithm = "HS256" | "EdDSA" | "ES256";

/** Options of {@link createAccessTokens}. */
export interface AccessTokensOptions {
  algorithm: AccessTokenAlgorithm;
  /** HS256 shared secret; at least 32 UTF-8 bytes (RFC 7518 §3.2: key ≥ hash output). */
  secret?: string;
  /** EdDSA (OKP/Ed25519) or ES256 (EC/P-256) private JWK, with `kid`. */
  privateJwk?: JWK;
  /** `iss` written and required. */
  issuer: string;
  /** Lifetime in seconds; also the maximum accepted token age. @default 1800 */
  ttlSeconds?: number;
  /** Allowed clock skew in seconds for `exp`, `nbf`, `iat`. @default 5 */
  clockToleranceSeconds?: number;
  /** Current time in epoch milliseconds. @default Date.now */
  nowMs?: () => number;
}

/** Registered claims of a verified access token, plus any extra claims it was issued with. */
export interface AccessTokenClaims {
  iss: string;
  /** User id. */
  sub: string;
  /** User kind the token is for. */
  aud: string;
  /** Issued at, epoch seconds. */
  iat: number;
  /** Expires at, epoch seconds. */
  exp: number;
  /** Token id (128-bit random, base64url), the handle for revocation. */
  jti: string;
  [claim: string]: unknown;
}

/** A freshly issued access token. */
export interface IssuedAccessToken {
  token: string;
  jti: string;
  /** Epoch seconds. */
  issuedAt: number;
  /** Epoch seconds. */
  expiresAt: number;
}

/** Issues and verifies access tokens with keys imported once. */
export interface AccessTokens {
  /**
   * Signs a token for `subject` (user id) and `audience` (user kind). `extra` claims are added but
   * may not override registered ones.
   * @throws TypeError for an empty subject/audience or a registered claim name in `extra`.
   */
  issue(input: {
    subject: string;
    audience: string;
    extra?: Record<string, unknown>;
    /**
     * `iat` to write instead of the current second (epoch seconds), at most
     * `clockToleranceSeconds` ahead (a value already in the past is raised to now): lets a token issued in the same second as a "revoke
     * everything before now" mark be placed after it. `exp` counts from this value.
     */
    issuedAtSeconds?: number;
  }): Promise<IssuedAccessToken>;
  /**
   * Verifies a token for `audience` (the user kind of the endpoint).
   * @throws AuthError `invalid_token` (401, `WWW-Authenticate: Bearer error="invalid_token"`) for
   *   any failure; the message is generic and the jose error is the `cause`.
   */
  verify(token: string, audience: string): Promise<AccessTokenClaims>;
  /** Public keys (`kid`, `alg`, `use: "sig"`) for `/.well-known/jwks.json`; empty for HS256. */
  jwks(): { keys: JWK[] };
}

const TYP = "at+jwt";
const MAX_TOKEN_CHARS = 8192;
/** Tokens whose verification an instance remembers (about 0.5 KB each). */
export const VERIFIED_TOKEN_CACHE_SIZE = 1024;

/**
 * The tokens this instance has verified, with their claims and the second until which the
 * time-dependent checks still pass. Everything else jose checks (signature, `alg`, `typ`, `iss`,
 * `aud`, the required claims, `iat`/`nbf` not in the future) depends only on the token and the
 * keys, which cannot change for one {@link createAccessTokens} instance, so a later presentation
 * of the same token needs only the clock compared again: no second HMAC or signature check (the
 * largest cost of an authenticated request after I/O). Revocation is not part of verification and
 * is still read from Redis on every request. Bounded: the oldest entry goes first.
 */
function verifiedTokenCache(maxEntries: number) {
  const entries = new Map<
    string,
    { audience: string; claims: AccessTokenClaims; validUntilSeconds: number }
  >();
  return {
    /** The remembered claims (a copy), or undefined when unknown, for another audience, or expired. */
    get(token: string, audience: string, nowSeconds: number): AccessTokenClaims | undefined {
      const entry = entries.get(token);
      if (entry === undefined) return undefined;
      if (nowSeconds > entry.validUntilSeconds) {
        entries.delete(token);
        return undefined;
      }
      return entry.audience === audience ? { ...entry.claims } : undefined;
    },
    set(token: string, audience: string, claims: AccessTokenClaims, validUntilSeconds: number): void {
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
      entries.set(token, { audience, claims: { ...claims }, validUntilSeconds });
    },
  };
}
const REGISTERED = new Set(["iss", "sub", "aud", "iat", "exp", "nbf", "jti"]);
const CURVES = { EdDSA: { kty: "OKP", crv: "Ed25519" }, ES256: { kty: "EC", crv: "P-256" } } as const;

interface SigningSetup {
  signKey: CryptoKey;
  verifyKey: CryptoKey;
  kid?: string;
  publicJwk?: JWK;
}

/** The AuthError every verification failure becomes. */
function invalidToken(cause?: unknown): AuthError {
  return new AuthError("invalid_token", { cause });
}

async function hmacSetup(secret: string | undefined): Promise<SigningSetup> {
  const bytes = secret === undefined ? undefined : utf8Encode(secret);
  if (bytes === undefined || bytes.length < 32) {
    throw new ConfigError(["access tokens: HS256 needs a secret of at least 32 bytes"]);
  }
  const key = await crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
  return { signKey: key, verifyKey: key };
}

async function asymmetricSetup(alg: "EdDSA" | "ES256", jwk: JWK | undefined): Promise<SigningSetup> {
  const want = CURVES[alg];
  const problems: string[] = [];
  if (jwk === undefined) problems.push(`access tokens: ${alg} needs privateJwk`);
  else {
    if (jwk.kty !== want.kty || jwk.crv !== want.crv)
      problems.push(`access tokens: ${alg} needs a ${want.crv} JWK`);
    if (typeof jwk.d !== "string") problems.push("access tokens: privateJwk has no private part (d)");
    if (typeof jwk.kid !== "string" || jwk.kid.length === 0)
      problems.push("access tokens: privateJwk needs a kid");
    if (jwk.alg !== undefined && jwk.alg !== alg)
      problems.push(`access tokens: privateJwk.alg is not ${alg}`);
    if (jwk.use !== undefined && jwk.use !== "sig")
      problems.push('access tokens: privateJwk.use is not "sig"');
  }
  if (problems.length > 0 || jwk === undefined) throw new ConfigError(problems);
  const { kty, crv, x, y, kid } = jwk;
  const publicJwk: JWK = { kty, crv, x, ...(y === undefined ? {} : { y }), kid, alg, use: "sig" };
  try {
    const signKey = (await importJWK({ ...jwk, alg }, alg)) as CryptoKey;
    const verifyKey = (await importJWK(publicJwk, alg)) as CryptoKey;
    // A JWK whose public part does not belong to `d` would sign tokens nobody can verify.
    await jwtVerify(await new SignJWT({}).setProtectedHeader({ alg }).sign(signKey), verifyKey, {
      algorithms: [alg],
    });
    return { signKey, verifyKey, kid, publicJwk };
  } catch (error) {
    throw new ConfigError([`access tokens: privateJwk is not a usable ${alg} key pair (${String(error)})`]);
  }
}

function claimsOf(payload: JWTPayload, audience: string): AccessTokenClaims {
  const { iss, sub, iat, exp, jti } = payload;
  if (
    typeof iss !== "string" ||
    typeof sub !== "string" ||
    sub.length === 0 ||
    typeof jti !== "string" ||
    jti.length === 0 ||
    typeof iat !== "number" ||
    typeof exp !== "number"
  ) {
    throw new TypeError("malformed registered claims");
  }
  return { ...payload, iss, sub, aud: audience, iat, exp, jti };
}

/**
 * Creates the access-token issuer/verifier, importing keys once.
 *
 * @throws ConfigError for a missing or short HS256 secret, a missing/mismatched private JWK
 *   (wrong curve, no `d`, no `kid`, conflicting `alg`/`use`), or a bad TTL/tolerance.
 */
export async function createAccessTokens(opts: AccessTokensOptions): Promise<AccessTokens> {
  const { algorithm, issuer, ttlSeconds = 1800, clockToleranceSeconds = 5, nowMs = Date.now } = opts;
  const problems: string[] = [];
  if (!["HS256", "EdDSA", "ES256"].includes(algorithm)) problems.push("access tokens: unsupported algorithm");
  if (typeof issuer !== "string" || issuer.length === 0) problems.push("access tokens: issuer is required");
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) problems.push("access tokens: ttlSeconds must be ≥ 1");
  if (!Number.isInteger(clockToleranceSeconds) || clockToleranceSeconds < 0 || clockToleranceSeconds > 300) {
    problems.push("access tokens: clockToleranceSeconds must be 0..300");
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const setup =
    algorithm === "HS256" ? await hmacSetup(opts.secret) : await asymmetricSetup(algorithm, opts.privateJwk);
  const header = { alg: algorithm, typ: TYP, ...(setup.kid === undefined ? {} : { kid: setup.kid }) };

  const issue: AccessTokens["issue"] = async ({ subject, audience, extra = {}, issuedAtSeconds }) => {
    if (typeof subject !== "string" || subject.length === 0) throw new TypeError("subject is required");
    if (typeof audience !== "string" || audience.length === 0) throw new TypeError("audience is required");
    const clash = Object.keys(extra).find((name) => REGISTERED.has(name));
    if (clash !== undefined) throw new TypeError(`extra claim "${clash}" is a registered claim`);
    const jti = base64UrlEncode(randomBytes(16));
    const nowSeconds = Math.floor(nowMs() / 1000);
    // Never earlier than now (a value computed a moment ago may already be a second old).
    const issuedAt = Math.max(issuedAtSeconds ?? nowSeconds, nowSeconds);
    if (!Number.isInteger(issuedAt) || issuedAt > nowSeconds + clockToleranceSeconds) {
      throw new RangeError("issuedAtSeconds must be an integer no later than now + clock tolerance");
    }
    const expiresAt = issuedAt + ttlSeconds;
    const token = await new SignJWT({ ...extra })
      .setProtectedHeader(header)
      .setIssuer(issuer)
      .setSubject(subject)
      .setAudience(audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .setJti(jti)
      .sign(setup.signKey);
    return { token, jti, issuedAt, expiresAt };
  };

  const verified = verifiedTokenCache(VERIFIED_TOKEN_CACHE_SIZE);
  const verify: AccessTokens["verify"] = async (token, audience) => {
    try {
      if (typeof token !== "string" || token.length > MAX_TOKEN_CHARS) throw new TypeError("bad token");
      if (typeof audience !== "string" || audience.length === 0) throw new TypeError("audience is required");
      // jose compares against whole seconds of `currentDate` (its `epoch()`), so does the cache.
      const nowSeconds = Math.floor(nowMs() / 1000);
      const known = verified.get(token, audience, nowSeconds);
      if (known !== undefined) return known;
      const { payload } = await jwtVerify(
        token,
        (protectedHeader) => {
          // With a kid configured, only that kid verifies; an absent or other kid is refused.
          if (setup.kid !== undefined && protectedHeader.kid !== setup.kid)
            throw new TypeError("unknown kid");
          return setup.verifyKey;
        },
        {
          algorithms: [algorithm],
          issuer,
          audience,
          typ: TYP,
          requiredClaims: ["sub", "jti", "exp", "iat"],
          maxTokenAge: ttlSeconds,
          clockTolerance: clockToleranceSeconds,
          currentDate: new Date(nowSeconds * 1000),
        },
      );
      const claims = claimsOf(payload, audience);
      // jose's time checks, as they will stand later: `exp` passes while now < exp + tolerance,
      // the age while now ≤ iat + ttl + tolerance; `iat` and `nbf` only get further in the past.
      verified.set(
        token,
        audience,
        claims,
        Math.min(claims.exp - 1, claims.iat + ttlSeconds) + clockToleranceSeconds,
      );
      return claims;
    } catch (error) {
      throw invalidToken(error);
    }
  };

  const publicJwk = setup.publicJwk;
  return {
    issue,
    verify,
    jwks: () => ({ keys: publicJwk === undefined ? [] : [{ ...publicJwk }] }),
  };
}
