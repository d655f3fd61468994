import { AuthError } from "../errors";
import type { DepsOf } from "./deps";
import { type AttemptSource, reserveAttempt } from "./login";
import { invalidateProfile, missingToken, type Principal, revokeAllSessions } from "./sessions";
import { openUser } from "./user-codec";

/** The dependencies this module's use-case reads (built lazily: see `shared/wiring/account-deps.ts`). */
export const DELETE_ACCOUNT_DEPS = [
  "hasher",
  "kv",
  "loginThrottle",
  "notifier",
  "nowMs",
  "ring",
  "store",
] as const;
type DeleteAccountDeps = DepsOf<typeof DELETE_ACCOUNT_DEPS>;

/** 403 for a wrong current password on a sensitive action (re-authentication failed). */
export const wrongPassword = () => new AuthError("incorrect_password");

/**
 * Deletes the caller's own account after re-checking the current password (OWASP: re-authenticate
 * for sensitive actions). The check is first reserved on the account's login throttle, so a wrong
 * password counts toward the same budgets as a login (F6). Revokes every token of the user (advances the credential epoch), removes
 * the record and its cache entry, advances the epoch once more, and queues a goodbye email to the
 * address on record. The first advance comes before the delete so a Redis failure deletes nothing
 * (503, the account keeps working); the second one, after it, ends a session that a login racing
 * the deletion could have started under the first advance's epoch (its record read came before the
 * delete), and gives the counter a TTL: the user is gone, and every token of theirs dies within
 * `maxTokenLifetimeSeconds`.
 *
 * @param maxTokenLifetimeSeconds longest lifetime of any token kind: how long the deleted user's
 *   credential epoch is kept (+ 60 s).
 * @param source the client address of the request (for the per-(account, address) budget).
 * @throws AuthError `too_many_attempts` (429), `incorrect_password` (403), `unauthorized` (401) when the account is already gone.
 */
export async function deleteAccount(
  deps: DeleteAccountDeps,
  principal: Principal,
  password: string,
  maxTokenLifetimeSeconds: number,
  source: AttemptSource,
): Promise<void> {
  const { kind, userId } = principal;
  const record = await deps.store.findById(kind, userId);
  if (!record) throw missingToken();
  const attempt = await reserveAttempt(deps, kind, record.emailIndex, source);
  if (!(await deps.hasher.verify(record.passwordHash, password))) throw wrongPassword();
  // The account is about to go; releasing keeps a later account under the same email unburdened.
  await deps.loginThrottle.succeeded(attempt);
  const profile = await openUser(deps.ring, kind, record);
  await revokeAllSessions(deps, kind, userId);
  await deps.store.delete(kind, userId);
  await revokeAllSessions(deps, kind, userId, { expireAfterSeconds: maxTokenLifetimeSeconds + 60 });
  await invalidateProfile(deps, kind, userId);
  await deps.notifier.notify(
    { type: "email.account_deleted", kind, to: profile.email, name: profile.firstName },
    `account_deleted:${kind}:${userId}`,
  );
}
