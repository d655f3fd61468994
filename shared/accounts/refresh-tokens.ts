/**
 * Refresh tokens and sessions (DESIGN.md §5, RFC 9700 §2.2.2 and §4.14).
 *
 * A session is a refresh-token family. Login starts one: a family id (`rtf_` + 128 random bits)
 * and a first refresh token. Every refresh token is an opaque 256-bit random string, stored only
 * as its SHA-256 at `redisKeys.refreshToken(kind, hash)` with the value
 * `{"userId","familyId","issuedAtSeconds"}` and a TTL of `refreshTtlSeconds` (the key namespace
 * binds it to the kind). Access tokens carry the family id as the private claim `sid`, so ending
 * the family (logout, reuse detection) also ends its access tokens (`authenticate` checks it).
 *
 * Rotation and reuse detection live in `refresh.ts`; this module has the parts login, refresh,
 * change-password and logout share.
 */
import { createOpaqueToken, randomId } from "../crypto/random";
import { AuthError } from "../errors";
import type { AccountDeps } from "./deps";
import { redisKeys } from "./keys";
import { issuedAtAfterRevocation } from "./sessions";

/** What is stored (as JSON) under a refresh token's hash. Times are epoch seconds. */
export interface RefreshRecord {
  userId: string;
  familyId: string;
  /** When this token was issued; the token dies when it is `<=` the user's revoked-before time. */
  issuedAtSeconds: number;
}

/** A token pair as the token endpoint and login answer it. */
export interface SessionTokens {
  accessToken: string;
  /** Access token lifetime in seconds (OAuth2 `expires_in`). */
  expiresInSeconds: number;
  refreshToken: string;
  userId: string;
}

/**
 * 401 `invalid_grant` (RFC 6749 §5.2 error code; 401 with `WWW-Authenticate` as this API answers
 * every bad credential): one answer for unknown, expired, reused and revoked refresh tokens.
 */
export const invalidGrant = () => new AuthError("invalid_grant");

/** Parses a stored refresh record; `null` for anything malformed. */
export function parseRefreshRecord(raw: string | null): RefreshRecord | null {
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as Partial<RefreshRecord>;
    if (
      typeof v.userId === "string" &&
      typeof v.familyId === "string" &&
      typeof v.issuedAtSeconds === "number" &&
      Number.isInteger(v.issuedAtSeconds)
    ) {
      return { userId: v.userId, familyId: v.familyId, issuedAtSeconds: v.issuedAtSeconds };
    }
  } catch {
    // fall through: a record we cannot read is no record
  }
  return null;
}

/**
 * Stores a new refresh token of a family and returns it (the token is never stored, only its hash).
 * @param issuedAtSeconds from {@link issuedAtAfterRevocation}, so a token issued right after a
 *   "revoke everything" is not caught by it.
 */
export async function storeRefreshToken(
  deps: Pick<AccountDeps, "kv" | "settings">,
  kind: string,
  record: RefreshRecord,
): Promise<{ token: string; hash: string }> {
  const { token, hash } = createOpaqueToken();
  await deps.kv.set(redisKeys.refreshToken(kind, hash), JSON.stringify(record), {
    ttlSeconds: deps.settings.refreshTtlSeconds,
  });
  return { token, hash };
}

/**
 * Signs an access token for a session: `sid` = family id, `iat` = the current second, or
 * `minIssuedAtSeconds` when that is later (one past a revoked-before mark set this second).
 * The current second is re-read here, not taken from the caller: Redis round trips between
 * computing the bound and signing can cross a second boundary, and `tokens.issue` refuses an
 * `iat` in the past.
 * @returns the JWT and its lifetime in seconds.
 */
export async function issueAccessToken(
  deps: Pick<AccountDeps, "tokens" | "nowMs">,
  kind: string,
  userId: string,
  familyId: string,
  minIssuedAtSeconds: number,
): Promise<{ accessToken: string; expiresInSeconds: number }> {
  const issued = await deps.tokens.issue({
    subject: userId,
    audience: kind,
    issuedAtSeconds: Math.max(Math.floor(deps.nowMs() / 1000), minIssuedAtSeconds),
    extra: { sid: familyId },
  });
  return { accessToken: issued.token, expiresInSeconds: issued.expiresAt - issued.issuedAt };
}

/**
 * Starts a new session for a user (login, password change): a new family, its first refresh
 * token and an access token bound to it, both issued after any revoked-before mark.
 */
export async function startSession(
  deps: Pick<AccountDeps, "kv" | "tokens" | "settings" | "nowMs">,
  kind: string,
  userId: string,
): Promise<SessionTokens> {
  const issuedAtSeconds = await issuedAtAfterRevocation(deps, kind, userId);
  const familyId = randomId("rtf");
  const [{ token }, access] = await Promise.all([
    storeRefreshToken(deps, kind, { userId, familyId, issuedAtSeconds }),
    issueAccessToken(deps, kind, userId, familyId, issuedAtSeconds),
  ]);
  return { ...access, refreshToken: token, userId };
}

/**
 * Revokes a whole refresh-token family (logout, reuse detection): every refresh token of it is
 * refused from now on, and so is every access token carrying its `sid`. The mark outlives every
 * token of the family (each lives at most `refreshTtlSeconds` from now).
 */
export async function revokeRefreshFamily(
  deps: Pick<AccountDeps, "kv" | "settings">,
  kind: string,
  familyId: string,
): Promise<void> {
  await deps.kv.set(redisKeys.refreshFamily(kind, familyId), "1", {
    ttlSeconds: deps.settings.refreshTtlSeconds + 60,
  });
}
