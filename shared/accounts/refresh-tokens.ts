/**
 * Refresh tokens and sessions (DESIGN.md §5, RFC 9700 §2.2.2 and §4.14).
 *
 * A session is a refresh-token family. Login starts one: a family id (`rtf_` + 128 random bits)
 * and a first refresh token. Every refresh token is an opaque 256-bit random string, stored only
 * as its SHA-256 at `redisKeys.refreshToken(kind, hash)` with the value
 * `{"userId","familyId","issuedAtSeconds","epoch","amr"}` and a TTL of `refreshTtlSeconds` (the key
 * namespace binds it to the kind). Access tokens carry the family id as the private claim `sid`, so
 * ending the family (logout, reuse detection) also ends its access tokens (`authenticate` checks
 * it). A family is bound to the user's credential epoch it was started under (`epoch` in every
 * record of the family, `cep` in every access token): advancing the epoch (password reset or
 * change, log out everywhere, deletion) ends the family and its access tokens. A family also has
 * an absolute lifetime (`sessionMaxLifetimeSeconds` from its login, carried by every record as
 * `sessionStartedAtSeconds`): rotation renews each token's own TTL but never the family's end.
 *
 * Rotation and reuse detection live in `refresh.ts`; this module has the parts login, refresh,
 * change-password and logout share.
 */
import { createOpaqueToken, randomId } from "../crypto/random";
import { AuthError } from "../errors";
import type { AccountDeps } from "./deps";
import { redisKeys } from "./keys";
import { CREDENTIAL_EPOCH_CLAIM } from "./sessions";

/** What is stored (as JSON) under a refresh token's hash. Times are epoch seconds. */
export interface RefreshRecord {
  userId: string;
  familyId: string;
  /**
   * When this token was issued. Only the legacy revoked-before mark still compares it (the token
   * dies when it is `<=` that mark; see `redisKeys.revokedBefore`).
   */
  issuedAtSeconds: number;
  /**
   * The user's credential epoch the family was started under; the token is good only while it is
   * the user's current epoch. Records written before the epoch existed have none: they read as 0.
   */
  epoch: number;
  /**
   * When the family's session started (its login), epoch seconds; the family ends
   * `sessionMaxLifetimeSeconds` later whatever its rotations. Records written before the absolute
   * lifetime existed have none: they read as their own `issuedAtSeconds` (one more lifetime at most).
   */
  sessionStartedAtSeconds: number;
  /**
   * How the session was authenticated (RFC 8176 `amr` values, e.g. `["pwd","otp","mfa"]`): set at
   * login, carried unchanged by every rotation, so a refresh never raises or drops the factor
   * level. Records written before MFA existed have none: they read as `["pwd"]`.
   */
  amr: Amr;
}

/** Authentication method references of a session (RFC 8176 §2 values: `pwd`, `otp`, `sms`, `mfa`). */
export type Amr = readonly string[];

/** The `amr` of a password-only session (and of every session started before `amr` existed). */
export const PASSWORD_ONLY: Amr = ["pwd"];

const AMR_VALUE = /^[a-z]{2,8}$/;

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
    const epoch = v.epoch === undefined ? 0 : v.epoch; // a record from before the epoch: epoch 0
    const started = v.sessionStartedAtSeconds ?? v.issuedAtSeconds; // from before the absolute lifetime
    const amr = v.amr === undefined ? PASSWORD_ONLY : v.amr; // a record from before MFA: password only
    if (
      typeof v.userId === "string" &&
      typeof v.familyId === "string" &&
      typeof v.issuedAtSeconds === "number" &&
      Number.isInteger(v.issuedAtSeconds) &&
      typeof epoch === "number" &&
      Number.isSafeInteger(epoch) &&
      epoch >= 0 &&
      typeof started === "number" &&
      Number.isInteger(started) &&
      Array.isArray(amr) &&
      amr.every((m) => typeof m === "string" && AMR_VALUE.test(m))
    ) {
      return {
        userId: v.userId,
        familyId: v.familyId,
        issuedAtSeconds: v.issuedAtSeconds,
        epoch,
        sessionStartedAtSeconds: started,
        amr,
      };
    }
  } catch {
    // fall through: a record we cannot read is no record
  }
  return null;
}

/**
 * Seconds a session started at `startedAtSeconds` has left at `nowSeconds` (≤ 0: it has ended).
 * @param settings `sessionMaxLifetimeSeconds`, the absolute lifetime.
 */
export function sessionSecondsLeft(
  settings: Pick<AccountDeps["settings"], "sessionMaxLifetimeSeconds">,
  startedAtSeconds: number,
  nowSeconds: number,
): number {
  return startedAtSeconds + settings.sessionMaxLifetimeSeconds - nowSeconds;
}

/**
 * Stores a new refresh token of a family and returns it (the token is never stored, only its hash).
 * Its TTL is `refreshTtlSeconds`, cut to what the session's absolute lifetime leaves (at least 1 s).
 * @param record the token's record; `epoch` is the family's credential epoch, never re-read here.
 */
export async function storeRefreshToken(
  deps: Pick<AccountDeps, "kv" | "settings">,
  kind: string,
  record: RefreshRecord,
): Promise<{ token: string; hash: string }> {
  const { token, hash } = createOpaqueToken();
  const left = sessionSecondsLeft(deps.settings, record.sessionStartedAtSeconds, record.issuedAtSeconds);
  await deps.kv.set(redisKeys.refreshToken(kind, hash), JSON.stringify(record), {
    ttlSeconds: Math.max(1, Math.min(deps.settings.refreshTtlSeconds, left)),
  });
  return { token, hash };
}

/**
 * Signs an access token (RFC 7519; `at+jwt`) for a session: `iat` = the current second,
 * `sid` = family id, `cep` = the family's credential epoch (private claims, RFC 7519 §4.3), `amr`
 * = how the session was authenticated (RFC 8176, as OpenID Connect Core §2 defines the claim).
 * @param epoch the credential epoch the session was started under (never re-read here: a session
 *   started under an epoch that has since moved on must get tokens that are refused).
 * @returns the JWT and its lifetime in seconds.
 */
export async function issueAccessToken(
  deps: Pick<AccountDeps, "tokens">,
  kind: string,
  userId: string,
  familyId: string,
  epoch: number,
  amr: Amr,
): Promise<{ accessToken: string; expiresInSeconds: number }> {
  const issued = await deps.tokens.issue({
    subject: userId,
    audience: kind,
    extra: { sid: familyId, [CREDENTIAL_EPOCH_CLAIM]: epoch, amr: [...amr] },
  });
  return { accessToken: issued.token, expiresInSeconds: issued.expiresAt - issued.issuedAt };
}

/**
 * Starts a new session for a user (login, second-factor verification, password change): a new
 * family, its first refresh token and an access token bound to it, both bound to credential epoch
 * `epoch` and carrying `amr` (one Redis command: the refresh record's SET). Callers pass the
 * factors really checked: an account with an enrolled second factor gets a session only from
 * `mfa-login.ts` (or from a session that already had it: password change).
 * @param epoch the user's credential epoch as read BEFORE the password was verified (login), or as
 *   returned by the revocation the session follows (password change). The session is good only
 *   while this is the user's current epoch, so a revocation that happened after `epoch` was read
 *   ends it too.
 */
export async function startSession(
  deps: Pick<AccountDeps, "kv" | "tokens" | "settings" | "nowMs">,
  kind: string,
  userId: string,
  epoch: number,
  amr: Amr,
): Promise<SessionTokens> {
  const issuedAtSeconds = Math.floor(deps.nowMs() / 1000);
  const familyId = randomId("rtf");
  const [{ token }, access] = await Promise.all([
    storeRefreshToken(deps, kind, {
      userId,
      familyId,
      issuedAtSeconds,
      epoch,
      sessionStartedAtSeconds: issuedAtSeconds,
      amr,
    }),
    issueAccessToken(deps, kind, userId, familyId, epoch, amr),
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
