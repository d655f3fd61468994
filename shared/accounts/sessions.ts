import type { AccessTokenClaims } from "../crypto/tokens";
import { AuthError } from "../errors";
import type { AccountDeps } from "./deps";
import { redisKeys } from "./keys";
import type { UserProfile } from "./user-codec";

/** The authenticated caller: always taken from a verified access token, never from a parameter. */
export interface Principal {
  kind: string;
  userId: string;
  jti: string;
  /** Issued at / expires at, epoch seconds. */
  iat: number;
  exp: number;
  /**
   * Session id: the refresh-token family the access token was issued with (private claim `sid`).
   * Absent on tokens issued without a refresh token.
   */
  sid?: string;
}

/** Shape of a family id as `refresh-tokens.ts` creates it; anything else in `sid` is ignored. */
const SID_PATTERN = /^rtf_[A-Za-z0-9_-]{22,86}$/;

/** 401 for a missing or malformed `Authorization` header. */
export const missingToken = () =>
  new AuthError("unauthorized", { detail: "A bearer access token is required" });

/** 401 for a token that verified but has been revoked (logout, password change, deletion). */
export const revokedToken = () => new AuthError("token_revoked");

const profileAad = (kind: string, userId: string) => `${kind}|${userId}|profile_cache`;

/** Reads the bearer token of an `Authorization` header (RFC 6750 §2.1); `null` when absent or malformed. */
export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i.exec(header?.trim() ?? "");
  return m?.[1] ?? null;
}

/**
 * Authenticates a request for `kind` (DESIGN.md §5): verifies the JWT (algorithm, issuer and
 * audience = kind pinned), then reads the token's revocation mark, the user's revoked-before time,
 * the encrypted profile cache and — for a token carrying a session id (`sid`) — its refresh
 * family's revocation mark, all in ONE Redis round trip (MGET). So logging out a session or a
 * detected refresh-token reuse ends every access token of that session, not just one.
 *
 * Fails closed: when Redis cannot answer, the request is refused with 503 — a revoked token is
 * never accepted for lack of a check.
 *
 * @param onVerified called once the token's signature and claims verified, before the Redis read.
 * @returns the principal and the cached profile (`null` on a cache miss or an unreadable entry).
 * @throws AuthError `unauthorized` / `invalid_token` / `token_revoked` (401), `service_unavailable` (503).
 */
export async function authenticate(
  deps: Pick<AccountDeps, "tokens" | "kv" | "ring">,
  kind: string,
  authorization: string | undefined,
  onVerified?: (claims: AccessTokenClaims) => void,
): Promise<{ principal: Principal; cachedProfile: UserProfile | null }> {
  const token = bearerToken(authorization);
  if (!token) throw missingToken();
  const claims: AccessTokenClaims = await deps.tokens.verify(token, kind);
  // Lets the caller start work that needs the verified subject (the per-user rate limit) in the
  // same tick as the MGET below, so auto-pipelining sends both in one Redis round trip.
  onVerified?.(claims);
  const sid = typeof claims.sid === "string" && SID_PATTERN.test(claims.sid) ? claims.sid : undefined;
  let values: (string | null)[];
  try {
    values = await deps.kv.mget([
      redisKeys.revokedJti(kind, claims.jti),
      redisKeys.revokedBefore(kind, claims.sub),
      redisKeys.profile(kind, claims.sub),
      ...(sid ? [redisKeys.refreshFamily(kind, sid)] : []),
    ]);
  } catch (cause) {
    throw new AuthError("service_unavailable", {
      detail: "Session state is unavailable; try again shortly",
      cause,
      retryAfterSeconds: 5,
    });
  }
  const [revoked, revokedBefore, cached, familyRevoked] = values;
  if (revoked !== null && revoked !== undefined) throw revokedToken();
  if (revokedBefore && claims.iat <= Number(revokedBefore)) throw revokedToken();
  if (familyRevoked !== null && familyRevoked !== undefined) throw revokedToken();
  const principal: Principal = {
    kind,
    userId: claims.sub,
    jti: claims.jti,
    iat: claims.iat,
    exp: claims.exp,
    ...(sid ? { sid } : {}),
  };
  let cachedProfile: UserProfile | null = null;
  if (cached) {
    try {
      cachedProfile = JSON.parse(
        await deps.ring.openText(cached, profileAad(kind, claims.sub)),
      ) as UserProfile;
    } catch {
      cachedProfile = null; // unreadable (e.g. key removed from the ring): treat as a miss
    }
  }
  return { principal, cachedProfile };
}

/** Stores a profile in the Redis cache, encrypted with the key ring (the cache never holds plaintext PII). */
export async function cacheProfile(
  deps: Pick<AccountDeps, "kv" | "ring" | "settings">,
  kind: string,
  profile: UserProfile,
): Promise<void> {
  const sealed = await deps.ring.seal(JSON.stringify(profile), profileAad(kind, profile.id));
  await deps.kv.set(redisKeys.profile(kind, profile.id), sealed, {
    ttlSeconds: deps.settings.profileCacheTtlSeconds,
  });
}

/** Drops a user's cached profile (every write to the record calls this). */
export async function invalidateProfile(
  deps: Pick<AccountDeps, "kv">,
  kind: string,
  userId: string,
): Promise<void> {
  await deps.kv.del(redisKeys.profile(kind, userId));
}

/** Revokes one access token until it expires (logout). */
export async function revokeAccessToken(
  deps: Pick<AccountDeps, "kv" | "nowMs">,
  principal: Principal,
): Promise<void> {
  const ttlSeconds = Math.max(1, principal.exp - Math.floor(deps.nowMs() / 1000) + 60);
  await deps.kv.set(redisKeys.revokedJti(principal.kind, principal.jti), "1", { ttlSeconds });
}

/**
 * Revokes every token of a user issued up to now (password reset/change, log out everywhere,
 * deletion): stores the current epoch second as the user's revoked-before time, kept for as long
 * as any token issued before it could live.
 * @param maxTokenLifetimeSeconds the longest lifetime of any token kind (access or refresh).
 */
export async function revokeAllSessions(
  deps: Pick<AccountDeps, "kv" | "nowMs">,
  kind: string,
  userId: string,
  maxTokenLifetimeSeconds: number,
): Promise<void> {
  const nowSeconds = Math.floor(deps.nowMs() / 1000);
  await deps.kv.set(redisKeys.revokedBefore(kind, userId), String(nowSeconds), {
    ttlSeconds: maxTokenLifetimeSeconds + 60,
  });
}

/**
 * The longest any token of the user can live (access or refresh), in seconds: how long a
 * "revoked before" mark must be kept.
 */
export function maxTokenLifetimeSeconds(settings: AccountDeps["settings"]): number {
  return Math.max(settings.accessTokenTtlSeconds, settings.refreshTtlSeconds);
}

/**
 * The `iat` (epoch seconds) to give a token issued now: normally the current second, but one past
 * the user's revoked-before time when that is the current second, so a login right after a
 * password reset is not caught by the reset's revocation (tokens compare `iat <= revokedBefore`).
 */
export async function issuedAtAfterRevocation(
  deps: Pick<AccountDeps, "kv" | "nowMs">,
  kind: string,
  userId: string,
): Promise<number> {
  const nowSeconds = Math.floor(deps.nowMs() / 1000);
  const revokedBefore = Number((await deps.kv.get(redisKeys.revokedBefore(kind, userId))) ?? 0);
  return Math.max(nowSeconds, revokedBefore + 1);
}
