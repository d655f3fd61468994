import { AuthError } from "../errors";
import type { UserPatch, UserRecord } from "../ports/user-store";
import type { AccountDeps } from "./deps";

/** How many times a compare-and-set update is tried before the request answers 409 `conflict`. */
export const MAX_UPDATE_ATTEMPTS = 6;
/** Back-off cap before retry n (n ≥ 1): `BASE · 2^(n−1)` ms, i.e. 10, 20, 40, 80, 160 ms. */
const BACKOFF_BASE_MS = 10;

/** 409 for a record that other requests kept changing while this one tried to write it. */
export const updateConflict = () =>
  new AuthError("conflict", {
    detail: "The account was changed by concurrent requests; retry the request",
    retryAfterSeconds: 1,
  });

/**
 * Waits a random time in [0, cap) ms ("full jitter", AWS Architecture Blog, "Exponential Backoff
 * and Jitter", 2015), so requests that lost a race to each other do not collide again in lockstep.
 */
function backoff(retry: number): Promise<void> {
  const capMs = BACKOFF_BASE_MS * 2 ** (retry - 1);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * capMs));
}

/**
 * Read-modify-write of one record with optimistic concurrency: reads the record, asks `change`
 * for a patch (or `null` for "nothing to do"), and writes it iff the version is unchanged. A lost
 * race (the store's `update` answering `conflict`) is retried from a fresh read after a jittered
 * exponential back-off, up to {@link MAX_UPDATE_ATTEMPTS} tries in all (≈ 310 ms of waiting at
 * most); `change` therefore sees the newest record each time and may run more than once.
 *
 * @returns `null` when the record does not exist; otherwise the (possibly unchanged) record and
 *   whether a write happened.
 * @throws AuthError `conflict` (409, `Retry-After: 1`) when every try lost its race: a hot record
 *   answers a retryable 409, never a 500 and never a lost write (issue #14 item 5, F7).
 */
export async function updateWithRetry(
  deps: Pick<AccountDeps, "store">,
  kind: string,
  userId: string,
  change: (record: UserRecord) => UserPatch | null | Promise<UserPatch | null>,
): Promise<{ record: UserRecord; changed: boolean } | null> {
  for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
    if (attempt > 0) await backoff(attempt);
    const record = await deps.store.findById(kind, userId);
    if (!record) return null;
    const patch = await change(record);
    if (!patch || Object.keys(patch).length === 0) return { record, changed: false };
    const result = await deps.store.update(kind, userId, record.version, patch);
    if (result.ok) return { record: result.record, changed: true };
    if (result.code === "not_found") return null;
  }
  throw updateConflict();
}
