/**
 * `rotate-keys` (hourly, and on demand with `npm run job -- rotate-keys`): re-wraps every record's
 * data key under the key ring's active key ({@link KeyRing.rewrapDataKey}; the field envelopes,
 * encrypted under the data key, stay as they are), in batches, with the cursor saved after each
 * batch. Master-key rotation without downtime (NIST SP 800-57 Part 1 Rev. 5 §5.3, cryptoperiods;
 * OWASP Cryptographic Storage Cheat Sheet, "Key Lifecycle"): add the new key as active, let this
 * job move every record, check `/health/detailed` (`records_by_key_id`) until the old key wraps
 * nothing, then remove it from `ENCRYPTION_KEYS`.
 *
 * Each record is a compare-and-set update of its `dataKey`; a conflict (the user changed the
 * record meanwhile) is retried on the fresh record, up to 3 times, then left to the next run
 * (`conflicts`). A data key that no ring key opens (its key was removed too early) is counted as
 * `unreadable`, logged with its key id, and skipped: no rotation can recover it.
 */
import { dataKeyAad, envelopeKeyId, type KeyRing } from "../crypto/envelope";
import { CryptoError } from "../errors";
import type { Logger } from "../observability/logger";
import type { UserRecord, UserStore } from "../ports/user-store";
import { defineJob } from "./job";

/** Compare-and-set attempts per record before it is left to the next run. */
const ATTEMPTS = 3;

interface RotateDeps {
  store: UserStore;
  ring: KeyRing;
  log: Logger;
}

type Moved = "rewrapped" | "gone" | "conflict" | "unreadable";

/** Re-wraps one record's data key under the active key, retrying a lost compare-and-set on the fresh record. */
async function rewrapRecord(deps: RotateDeps, kind: string, first: UserRecord): Promise<Moved> {
  let record: UserRecord | null = first;
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    if (record === null) return "gone";
    if (envelopeKeyId(record.dataKey) === deps.ring.activeKeyId) return "rewrapped";
    let dataKey: string;
    try {
      dataKey = await deps.ring.rewrapDataKey(record.dataKey, dataKeyAad(kind, record.id));
    } catch (error) {
      if (!(error instanceof CryptoError)) throw error;
      deps.log.error("data key cannot be unwrapped by any ring key", {
        event: "job_unreadable_record",
        kind,
        user_id: record.id,
        key_id: envelopeKeyId(record.dataKey) ?? null,
      });
      return "unreadable";
    }
    const updated = await deps.store.update(kind, record.id, record.version, { dataKey });
    if (updated.ok) return "rewrapped";
    if (updated.code === "not_found") return "gone";
    record = await deps.store.findById(kind, record.id);
  }
  return "conflict";
}

/** See the file comment. Counts: `scanned`, `rewrapped`, `conflicts`, `unreadable`. */
export const rotateKeysJob = defineJob<RotateDeps>({
  name: "rotate-keys",
  perKind: true,
  async deps(ctx) {
    return { store: await ctx.store(), ring: await ctx.keyRing(), log: ctx.log };
  },
  async step(deps, { kind, cursor, batchSize }) {
    if (kind === null) throw new Error("rotate-keys runs per kind");
    const { store, ring } = deps;
    const page = await store.scan(
      kind,
      { dataKeyIdNot: ring.activeKeyId },
      { afterId: cursor, limit: batchSize },
    );
    const counts = { scanned: page.records.length, rewrapped: 0, conflicts: 0, unreadable: 0 };
    for (const record of page.records) {
      const moved = await rewrapRecord(deps, kind, record);
      if (moved === "rewrapped") counts.rewrapped += 1;
      else if (moved === "conflict") counts.conflicts += 1;
      else if (moved === "unreadable") counts.unreadable += 1;
    }
    if (page.next !== null) return { cursor: page.next, counts };
    return {
      cursor: null,
      counts,
      report: { remaining: await store.count(kind, { dataKeyIdNot: ring.activeKeyId }) },
    };
  },
});
