import type { AccessTokenClaims } from "../crypto/tokens";
import { AuthError } from "../errors";
import type { KvScript } from "../ports/kv";
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
  /**
   * How the session was authenticated (the token's RFC 8176 `amr` claim, e.g. `["pwd","otp","mfa"]`);
   * `["pwd"]` for a token issued before the claim existed.
   */
  amr: readonly string[];
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
 * Name of the private JWT claim (RFC 7519 §4.3) carrying the user's credential epoch the session
 * was started under: a non-negative integer.
 */
export const CREDENTIAL_EPOCH_CLAIM = "cep";

/**
 * The credential epoch a verified token was issued under (its `cep` claim). A token without the
 * claim (issued before the epoch existed) counts as epoch 0: it stays good until the user's first
 * epoch revocation (and remains subject to the legacy revoked-before mark). `null` for a claim that
 * is present but not a non-negative safe integer (never issued by this service): such a token is
 * refused.
 */
export function credentialEpochOf(claims: AccessTokenClaims): number | null {
  const value = claims[CREDENTIAL_EPOCH_CLAIM];
  if (value === undefined) return 0;
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

/** The session state of a token as read from Redis (`null` when absent), in {@link sessionStateKeys} order. */
export type SessionStateValues = readonly [
  revokedJti: string | null,
  legacyRevokedBefore: string | null,
  credentialEpoch: string | null,
  profile: string | null,
  family: string | null,
];

/**
 * The Redis keys that decide whether a verified token is still good, in this order: its own
 * revocation mark, the user's legacy revoked-before time (read only, see `redisKeys.revokedBefore`),
 * the user's current credential epoch, the encrypted profile cache, and — for a token carrying a
 * session id (`sid`) — its refresh family's revocation mark (`null` otherwise). So logging out a
 * session or a detected refresh-token reuse ends every access token of that session.
 */
export function sessionStateKeys(
  kind: string,
  claims: AccessTokenClaims,
): [
  revokedJti: string,
  revokedBefore: string,
  credentialEpoch: string,
  profile: string,
  family: string | null,
] {
  const sid = sessionIdOf(claims);
  return [
    redisKeys.revokedJti(kind, claims.jti),
    redisKeys.revokedBefore(kind, claims.sub),
    redisKeys.credentialEpoch(kind, claims.sub),
    redisKeys.profile(kind, claims.sub),
    sid ? redisKeys.refreshFamily(kind, sid) : null,
  ];
}

const sessionIdOf = (claims: AccessTokenClaims): string | undefined =>
  typeof claims.sid === "string" && SID_PATTERN.test(claims.sid) ? claims.sid : undefined;

/**
 * Reads a stored credential epoch: absent is 0; anything that is not a non-negative integer is
 * `null` (the caller refuses: a corrupt counter never revives a session).
 */
export function parseCredentialEpoch(raw: string | number | null | undefined): number | null {
  if (raw === null || raw === undefined || raw === "") return 0;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/**
 * Whether a session that was started under credential epoch `sessionEpoch` is still good: only
 * while the user's current epoch is exactly that value. Equality, not "at least": a counter that was
 * lost (reads 0 again) ends every session started under a later epoch rather than reviving any.
 */
export function epochIsCurrent(
  sessionEpoch: number | null,
  storedEpoch: string | number | null | undefined,
): boolean {
  const current = parseCredentialEpoch(storedEpoch);
  return sessionEpoch !== null && current !== null && sessionEpoch === current;
}

/**
 * Whether session state read at {@link sessionStateKeys} revokes the token: a revocation mark, a
 * credential epoch other than the user's current one, a legacy revoked-before time at or after its
 * `iat`, or a revoked refresh family. `shared/http/session-check.ts` applies the same rule in Lua.
 */
export function isRevoked(
  claims: AccessTokenClaims,
  [revoked, revokedBefore, epoch, , familyRevoked]: readonly (string | null | undefined)[],
): boolean {
  if (revoked !== null && revoked !== undefined) return true;
  if (!epochIsCurrent(credentialEpochOf(claims), epoch)) return true;
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
    amr: amrOf(claims),
  };
  const cached = values[3];
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

/** The `amr` claim of a verified token: its string values, or `["pwd"]` when absent or malformed. */
function amrOf(claims: AccessTokenClaims): readonly string[] {
  const amr = claims.amr;
  return Array.isArray(amr) && amr.length > 0 && amr.every((m) => typeof m === "string") ? amr : ["pwd"];
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
 * Advances a user's credential epoch by one (INCR, atomic) and returns the new value; with
 * `expireAfterSeconds`, the key also gets that TTL in the same script (one command). Without it
 * the key keeps no TTL.
 */
const ADVANCE_EPOCH: KvScript = {
  source: `
local epoch = redis.call("INCR", KEYS[1])
if tonumber(ARGV[1]) > 0 then redis.call("EXPIRE", KEYS[1], ARGV[1]) end
return epoch
`,
};

/**
 * Revokes every access and refresh token of a user issued so far (password reset/change, log out
 * everywhere, deletion) by advancing the user's credential epoch (DESIGN.md §5, §9): every session
 * started under an earlier epoch is refused from the next use on, access tokens by
 * `authenticate`/the session check, refresh tokens by `refresh.ts`. Unlike a wall-clock mark, two
 * revocations in the same second both take effect, and a session whose epoch was read before this
 * call (a login racing a reset) is stale as soon as it returns.
 *
 * One Redis command (a script: INCR, plus EXPIRE when asked).
 * @param options.expireAfterSeconds only for a deleted account: how long the counter must still be
 *   kept (the longest token lifetime + margin). Otherwise the counter never expires: a counter that
 *   expired would read 0 again and start the epochs over.
 * @returns the new epoch; a session started with it survives this revocation (change_password's
 *   new session).
 * @throws whatever the Kv throws when Redis cannot answer (callers answer 503; nothing is revoked).
 */
export async function revokeAllSessions(
  deps: Pick<AccountDeps, "kv">,
  kind: string,
  userId: string,
  options: { expireAfterSeconds?: number } = {},
): Promise<number> {
  const reply = await deps.kv.evalScript(
    ADVANCE_EPOCH,
    [redisKeys.credentialEpoch(kind, userId)],
    [Math.max(0, Math.floor(options.expireAfterSeconds ?? 0))],
  );
  const epoch = parseCredentialEpoch(reply as string | number);
  if (epoch === null) throw new Error("credential epoch: Redis answered INCR with a non-integer");
  return epoch;
}

/**
 * Reads a user's current credential epoch (one GET; absent = 0). A login reads it BEFORE it
 * verifies the password and starts the session with this value, so a revocation that lands while
 * the password is being verified makes the new session stale at once.
 * @throws AuthError `service_unavailable` (503) when the stored value is not a non-negative integer
 *   (never a session on a corrupt counter); whatever the Kv throws when Redis cannot answer.
 */
export async function readCredentialEpoch(
  deps: Pick<AccountDeps, "kv">,
  kind: string,
  userId: string,
): Promise<number> {
  const epoch = parseCredentialEpoch(await deps.kv.get(redisKeys.credentialEpoch(kind, userId)));
  if (epoch === null) throw sessionStateUnavailable(new Error("credential epoch is not an integer"));
  return epoch;
}

/**
 * The longest any token of the user can live (access or refresh), in seconds: how long a deleted
 * user's credential epoch must be kept.
 */
export function maxTokenLifetimeSeconds(settings: AccountDeps["settings"]): number {
  return Math.max(settings.accessTokenTtlSeconds, settings.refreshTtlSeconds);
}
