/**
 * MFA tokens: what a correct password answers when the account has a second factor (DESIGN.md
 * §10). Opaque (256 random bits), stored only as their SHA-256 under the kind's namespace (so the
 * other kind's routes never find one), single use, {@link MFA_TOKEN_TTL_SECONDS} long.
 */

import type { KeyRing } from "../crypto/envelope";
import { createOpaqueToken, hashOpaqueToken } from "../crypto/random";
import { AuthError } from "../errors";
import type { UserRecord } from "../ports/user-store";
import type { DepsOf } from "./deps";
import { redisKeys } from "./keys";
import { type MfaMethod, methodsOf, openMfaState } from "./mfa-state";

/** Lifetime of an MFA token, seconds (issue #16: 5 minutes). */
export const MFA_TOKEN_TTL_SECONDS = 300;

/** What is stored (JSON) under an MFA token's hash. */
export interface MfaTokenRecord {
  v: 1;
  userId: string;
  /** The account's email blind index: the login throttle's key, so wrong codes count there. */
  emailIndex: string;
  /** The credential epoch read before the password was verified: the session's, if one follows. */
  epoch: number;
  /** When the token stops being accepted, epoch ms (checked against the clock, beside the Redis TTL). */
  expiresAtMs: number;
}

/** A presented MFA token as found: its hash, the exact stored value (for the consume) and the record. */
export interface FoundMfaToken {
  hash: string;
  raw: string;
  record: MfaTokenRecord;
}

/** 401 for an unknown, used, expired or other-kind MFA token (one answer for all). */
export const invalidMfaToken = () => new AuthError("invalid_mfa_token");

/**
 * Stores a new MFA token for a user who has just proved the password.
 * @returns the token (shown once) and its lifetime in seconds.
 */
export async function createMfaToken(
  deps: DepsOf<readonly ["kv", "nowMs"]>,
  kind: string,
  user: { id: string; emailIndex: string },
  epoch: number,
): Promise<{ token: string; expiresInSeconds: number }> {
  const { token, hash } = createOpaqueToken();
  const record: MfaTokenRecord = {
    v: 1,
    userId: user.id,
    emailIndex: user.emailIndex,
    epoch,
    expiresAtMs: deps.nowMs() + MFA_TOKEN_TTL_SECONDS * 1000,
  };
  await deps.kv.set(redisKeys.mfaToken(kind, hash), JSON.stringify(record), {
    ttlSeconds: MFA_TOKEN_TTL_SECONDS,
  });
  return { token, expiresInSeconds: MFA_TOKEN_TTL_SECONDS };
}

/**
 * Finds a live MFA token of `kind` (one GET; the token stays stored).
 * @throws AuthError `invalid_mfa_token` (401) when it is unknown, used, expired or malformed.
 */
export async function findMfaToken(
  deps: DepsOf<readonly ["kv", "nowMs"]>,
  kind: string,
  token: string,
): Promise<FoundMfaToken> {
  const hash = hashOpaqueToken(token);
  const raw = await deps.kv.get(redisKeys.mfaToken(kind, hash));
  const record = parseMfaToken(raw);
  if (raw === null || !record || record.expiresAtMs <= deps.nowMs()) throw invalidMfaToken();
  return { hash, raw, record };
}

/**
 * Consumes a found token (GETDEL): exactly one of concurrent verifications gets it.
 * @throws AuthError `invalid_mfa_token` (401) when it was consumed or replaced meanwhile.
 */
export async function consumeMfaToken(
  deps: DepsOf<readonly ["kv"]>,
  kind: string,
  found: FoundMfaToken,
): Promise<void> {
  if ((await deps.kv.getdel(redisKeys.mfaToken(kind, found.hash))) !== found.raw) throw invalidMfaToken();
}

/** Ends a token and its SMS code (too many wrong codes). */
export async function dropMfaToken(deps: DepsOf<readonly ["kv"]>, kind: string, hash: string): Promise<void> {
  await deps.kv.del(redisKeys.mfaToken(kind, hash), redisKeys.mfaSmsCode(kind, hash));
}

function parseMfaToken(raw: string | null): MfaTokenRecord | null {
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as Partial<MfaTokenRecord>;
    return v.v === 1 &&
      typeof v.userId === "string" &&
      typeof v.emailIndex === "string" &&
      typeof v.epoch === "number" &&
      typeof v.expiresAtMs === "number"
      ? (v as MfaTokenRecord)
      : null;
  } catch {
    return null;
  }
}

/**
 * The second-factor methods of `user` (empty when none is enrolled: no decryption then either).
 * @throws CryptoError when the stored state does not decrypt.
 */
export async function enrolledMethods(ring: KeyRing, kind: string, user: UserRecord): Promise<MfaMethod[]> {
  return user.mfa ? methodsOf(await openMfaState(ring, kind, user)) : [];
}

/**
 * What a correct password answers when `user` has a second factor: the 403 `mfa_required` error
 * to throw, carrying a new MFA token (`mfa_token`, single use, `expires_in` seconds) and the
 * `methods` it can be passed with.
 * @param epoch the credential epoch read before the password was verified.
 * @param methods from {@link enrolledMethods}, not empty.
 */
export async function mfaRequired(
  deps: DepsOf<readonly ["kv", "nowMs"]>,
  kind: string,
  user: UserRecord,
  epoch: number,
  methods: readonly MfaMethod[],
): Promise<AuthError> {
  const { token, expiresInSeconds } = await createMfaToken(deps, kind, user, epoch);
  return new AuthError("mfa_required", {
    extensions: { mfa_token: token, methods, expires_in: expiresInSeconds },
  });
}
