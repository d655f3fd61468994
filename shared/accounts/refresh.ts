import { hashOpaqueToken } from "../crypto/random";
import type { DepsOf } from "./deps";
import { redisKeys } from "./keys";
import {
  invalidGrant,
  issueAccessToken,
  parseRefreshRecord,
  type RefreshRecord,
  revokeRefreshFamily,
  type SessionTokens,
  sessionSecondsLeft,
  storeRefreshToken,
} from "./refresh-tokens";
import { epochIsCurrent } from "./sessions";

/** The dependencies this module's use-case reads (built lazily: see `shared/wiring/account-deps.ts`). */
export const REFRESH_DEPS = ["audit", "kv", "nowMs", "ring", "settings", "tokens"] as const;
type RefreshDeps = DepsOf<typeof REFRESH_DEPS>;

/** What the rotation claim of a used token holds (sealed with the key ring). */
interface UsedMark {
  /** The successor refresh token handed out when this one was used. */
  successor: string;
  /** When it was used, epoch milliseconds. */
  usedAtMs: number;
  /** SHA-256 (base64url) of the presenting client's binding; marks written before it have none. */
  client?: string;
}

const usedAad = (kind: string, tokenHash: string) => `${kind}|refresh_successor|${tokenHash}`;

/**
 * The OAuth2 `refresh_token` grant (RFC 6749 §6) with rotation and reuse detection
 * (RFC 9700 §4.14.2). Exchanges a refresh token for a new access token and a NEW refresh token of
 * the same family; the presented one is used up.
 *
 * 1. Look up the record by the token's SHA-256, then (one MGET) the family's revocation mark, the
 *    user's current credential epoch, the legacy revoked-before time and the token's rotation
 *    claim. Unknown, expired, revoked family, a family epoch that is not the user's current one
 *    (password reset or change, log out everywhere, deletion since the session started), or issued
 *    at/before the legacy revoked-before time → `invalid_grant`. The successor and the new access
 *    token carry the family's epoch, never a re-read one: a revocation landing during the rotation
 *    ends them too.
 * 2. Not yet used: write the successor's record FIRST, then claim the presented token with
 *    `SET NX` (value: the successor sealed with the key ring, and the use time). Exactly one
 *    concurrent request wins the claim; a loser deletes its own, never-revealed successor record.
 *    A family past its absolute lifetime (`sessionMaxLifetimeSeconds` since its login) is refused
 *    too (OWASP Session Management Cheat Sheet, absolute timeout): rotation never extends it, and
 *    the successor's TTL is cut to what is left of it.
 * 3. Already used (or a lost claim): when the use was within `refreshReuseGraceSeconds`, the
 *    successor it produced has not been used itself, AND the token is presented by the same client
 *    that used it (`clientBinding`: see below), this is a concurrent retry of the same request (two
 *    tabs, a network retry): it gets the SAME successor and a fresh access token, so the family
 *    never branches. Otherwise it is a replay: the whole family is revoked (the attacker's and the
 *    victim's tokens alike, access tokens included) → `invalid_grant`. Requiring the successor to
 *    be unused is stricter than a bare time window (a token rotated twice can never be replayed),
 *    and binding the grace to the client means a thief replaying a stolen token inside the window
 *    gets a revoked family, not the live session (RFC 9700 §4.14.2).
 *
 * @param clientBinding an opaque string naming the presenting client, the same for its concurrent
 *   retries and different for another client: the HTTP layer passes `clientBindingOf(address,
 *   userAgent)` (`shared/http/client-address.ts`: the address, IPv6 by /64, and the User-Agent).
 *   Only its SHA-256 is kept, sealed in the used-token mark.
 * @returns the new token pair, bound to the family's credential epoch.
 * @throws AuthError `invalid_grant` (401).
 */
export async function refreshSession(
  deps: RefreshDeps,
  kind: string,
  refreshToken: string,
  clientBinding: string,
): Promise<SessionTokens> {
  const hash = hashOpaqueToken(refreshToken);
  const record = parseRefreshRecord(await deps.kv.get(redisKeys.refreshToken(kind, hash)));
  if (!record) throw invalidGrant();
  const usedKey = redisKeys.refreshTokenUsed(kind, hash);
  const [familyRevoked, epochRaw, revokedBeforeRaw, usedRaw] = await deps.kv.mget([
    redisKeys.refreshFamily(kind, record.familyId),
    redisKeys.credentialEpoch(kind, record.userId),
    redisKeys.revokedBefore(kind, record.userId),
    usedKey,
  ]);
  if (familyRevoked) throw invalidGrant();
  if (!epochIsCurrent(record.epoch, epochRaw)) throw invalidGrant();
  if (revokedBeforeRaw && record.issuedAtSeconds <= Number(revokedBeforeRaw)) throw invalidGrant();
  const nowSeconds = Math.floor(deps.nowMs() / 1000);
  if (sessionSecondsLeft(deps.settings, record.sessionStartedAtSeconds, nowSeconds) <= 0)
    throw invalidGrant();

  const client = hashOpaqueToken(clientBinding);
  if (usedRaw) return retryWithinGrace(deps, kind, hash, record, usedRaw, client);

  const next: RefreshRecord = {
    userId: record.userId,
    familyId: record.familyId,
    issuedAtSeconds: nowSeconds,
    epoch: record.epoch,
    sessionStartedAtSeconds: record.sessionStartedAtSeconds,
    amr: record.amr, // the session's factor level, never raised or dropped by a rotation
  };
  const successor = await storeRefreshToken(deps, kind, next);
  const mark: UsedMark = { successor: successor.token, usedAtMs: deps.nowMs(), client };
  const claimed = await deps.kv.set(
    usedKey,
    await deps.ring.seal(JSON.stringify(mark), usedAad(kind, hash)),
    {
      nx: true,
      ttlSeconds: deps.settings.refreshTtlSeconds,
    },
  );
  if (!claimed) {
    // A concurrent request used the token first: drop our branch, then behave as its retry.
    await deps.kv.del(redisKeys.refreshToken(kind, successor.hash));
    const winner = await deps.kv.get(usedKey);
    if (!winner) throw invalidGrant();
    return retryWithinGrace(deps, kind, hash, record, winner, client);
  }
  const access = await issueAccessToken(deps, kind, record.userId, record.familyId, record.epoch, record.amr);
  return { ...access, refreshToken: successor.token, userId: record.userId };
}

/** Step 3 of {@link refreshSession}: the presented token was already used. */
async function retryWithinGrace(
  deps: RefreshDeps,
  kind: string,
  hash: string,
  record: RefreshRecord,
  usedRaw: string,
  client: string,
): Promise<SessionTokens> {
  let mark: UsedMark | null = null;
  try {
    mark = JSON.parse(await deps.ring.openText(usedRaw, usedAad(kind, hash))) as UsedMark;
  } catch {
    mark = null; // unreadable (e.g. its key left the ring): no grace, treat as reuse
  }
  const graceMs = deps.settings.refreshReuseGraceSeconds * 1000;
  const inGrace =
    mark !== null &&
    typeof mark.successor === "string" &&
    typeof mark.usedAtMs === "number" &&
    deps.nowMs() - mark.usedAtMs <= graceMs &&
    mark.client === client; // another client (or a mark without one) presenting a used token: reuse
  if (mark && inGrace) {
    const successorHash = hashOpaqueToken(mark.successor);
    const [successorUsed, successorRecord] = await deps.kv.mget([
      redisKeys.refreshTokenUsed(kind, successorHash),
      redisKeys.refreshToken(kind, successorHash),
    ]);
    if (!successorUsed && successorRecord) {
      const access = await issueAccessToken(
        deps,
        kind,
        record.userId,
        record.familyId,
        record.epoch,
        record.amr,
      );
      return { ...access, refreshToken: mark.successor, userId: record.userId };
    }
  }
  await revokeRefreshFamily(deps, kind, record.familyId);
  // The HTTP layer only sees a 401 invalid_grant; that it was a replay is known only here.
  await deps.audit.record({
    kind,
    action: "refresh_reuse_detected",
    outcome: "failure",
    actor: record.userId,
    code: "refresh_token_reuse",
  });
  throw invalidGrant();
}
