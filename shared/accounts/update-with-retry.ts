import type { UserPatch, UserRecord } from "../ports/user-store";
import type { AccountDeps } from "./deps";

/** How many times a compare-and-set update is retried after losing a race. */
const MAX_ATTEMPTS = 3;

/**
 * Read-modify-write of one record with optimistic concurrency: reads the record, asks `change`
 * for a patch (or `null` for "nothing to do"), and writes it iff the version is unchanged,
 * retrying on conflict.
 *
 * @returns `null` when the record does not exist; otherwise the (possibly unchanged) record and
 *   whether a write happened.
 * @throws Error after {@link MAX_ATTEMPTS} lost races (a hot record: surfaces as 500, never a lost write).
 */
export async function updateWithRetry(
  deps: Pick<AccountDeps, "store">,
  kind: string,
  userId: string,
  change: (record: UserRecord) => UserPatch | null | Promise<UserPatch | null>,
): Promise<{ record: UserRecord; changed: boolean } | null> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const record = await deps.store.findById(kind, userId);
    if (!record) return null;
    const patch = await change(record);
    if (!patch || Object.keys(patch).length === 0) return { record, changed: false };
    const result = await deps.store.update(kind, userId, record.version, patch);
    if (result.ok) return { record: result.record, changed: true };
    if (result.code === "not_found") return null;
  }
  throw new Error(`update of ${kind} record lost ${MAX_ATTEMPTS} races`);
}
