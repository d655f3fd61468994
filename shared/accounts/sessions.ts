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
 * Verifies the bearer access token of an `Authorization` header for `kind` (DESIGN.md §5:
 * algorithm, issuer and audience = kind pinned). CPU only: no Redis.
 * @throws AuthError `unauthorized` (no or malformed header), `invalid_token` (401).
 */
export async function verifyBearer(
  deps: Pick<AccountDeps, "tokens">,
  kind: string,
  authorization: string | undefined,
): Promise<AccessTokenClaims> {
  const token = bearerToken(authorization);
  if (!token) throw missingToken();
  return deps.tokens.verify(token, kind);
}

/**
 * The Redis keys that decide whether a verified token is still good, in this order: its own
 * revocation mark, the user's revoked-before time, the encrypted profile cache, and — for a token
 * carrying a session id (`sid`) — its refresh family's revocation mark (`null` otherwise). So
 * logging out a session or a detected refresh-token reuse ends every access token of that session.
 */
export function sessionStateKeys(
  kind: string,
  claims: AccessTokenClaims,
): [revokedJti: string, revokedBefore: string, profile: string, family: string | null] {
  const sid = sessionIdOf(claims);
  return [
    redisKeys.revokedJti(kind, claims.jti),
    redisKeys.revokedBefore(kind, claims.sub),
    redisKeys.profile(kind, claims.sub),
    sid ? redisKeys.refreshFamily(kind, sid) : null,
  ];
}

const sessionIdOf = (claims: AccessTokenClaims): string | undefined =>
  typeof claims.sid === "string" && SID_PATTERN.test(claims.sid) ? claims.sid : undefined;

/**
 * Whether session state read at {@link sessionStateKeys} revokes the token: a revocation mark, a
 * revoked-before time at or after its `iat`, or a revoked refresh family.
 */
export function isRevoked(
  claims: AccessTokenClaims,
  [revoked, revokedBefore, , familyRevoked]: readonly (string | null | undefined)[],
): boolean {
  if (revoked !== null && revoked !== undefined) return true;
  if (revokedBefore && claims.iat <= Number(revokedBefore)) return true;
  return familyRevoked !== null && familyRevoked !== undefined;
}

/**
 * Turns a verified token and its session state (the values at {@link sessionStateKeys}) into the
 * principal and the cached profile (`null` on a miss or an unreadable entry).
 * @throws AuthError `token_revoked` (401).
 */
export async function openSession(
  deps: Pick<AccountDeps, "ring">,
  kind: string,
  claims: AccessTokenClaims,
  values: readonly (string | null | undefined)[],
): Promise<{ principal: Principal; cachedProfile: UserProfile | null }> {
  if (isRevoked(claims, values)) throw revokedToken();
  const sid = sessionIdOf(claims);
  const principal: Principal = {
    kind,
    userId: claims.sub,
    jti: claims.jti,
    iat: claims.iat,
    exp: claims.exp,
    ...(sid ? { sid } : {}),
  };
  const cached = values[2];
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

/** 503 when session state cannot be read: revocation is never skipped for lack of a check (fail closed). */
export const sessionStateUnavailable = (cause: unknown) =>
  new AuthError("service_unavailable", {
    detail: "Session state is unavailable; try again shortly",
    cause,
    retryAfterSeconds: 5,
  });

/**
 * Authenticates a request for `kind`: {@link verifyBearer}, then the session state at
 * {@link sessionStateKeys} in ONE Redis round trip (MGET), then {@link openSession}. The HTTP
 * layer's rate-limited routes use the same pieces with one script that also counts the limits.
 *
 * Fails closed: when Redis cannot answer, the request is refused with 503 — a revoked token is
 * never accepted for lack of a check.
 *
 * @throws AuthError `unauthorized` / `invalid_token` / `token_revoked` (401), `service_unavailable` (503).
 */
export async function authenticate(
  deps: Pick<AccountDeps, "tokens" | "kv" | "ring">,
  kind: string,
  authorization: string | undefined,
): Promise<{ principal: Principal; cachedProfile: UserProfile | null }> {
  const claims = await verifyBearer(deps, kind, authorization);
  const keys = sessionStateKeys(kind, claims);
  let values: (string | null)[];
  try {
    values = await deps.kv.mget(keys.filter((k): k is string => k !== null));
  } catch (cause) {
    throw sessionStateUnavailable(cause);
  }
  return openSession(deps, kind, claims, values);
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
