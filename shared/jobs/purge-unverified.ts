/**
 * `purge-unverified` (hourly): deletes the accounts whose email is still unverified
 * `UNVERIFIED_ACCOUNT_TTL_HOURS` after sign-up (default 72), with their encrypted personal data,
 * so a pre-registered or mistyped address is not held forever (GDPR art. 5(1)(e), storage
 * limitation) and can register again. Each deletion is a compare-and-delete on the version read
 * by the scan, so an account verified meanwhile is kept; each purge is audited
 * (`account_purge`, actor = the user id, code `unverified_expired`).
 *
 * The Bloom filter stays correct without a write: the purged address's bits stay set, so it
 * answers "maybe" and the store (which no longer has it) decides; the next `bloom-rebuild` drops
 * the bits. An unverified account has no session (login needs a verified email), so no token
 * has to be revoked; its emailed verification link then finds no account and is refused.
 */
import type { AuditRecorder } from "../observability/audit";
import type { UserStore } from "../ports/user-store";
import { defineJob } from "./job";

interface PurgeDeps {
  store: UserStore;
  audit: AuditRecorder;
  nowMs(): number;
  ttlMs: number;
}

/** See the file comment. Counts: `scanned`, `purged`, `raced` (changed since the scan: kept). */
export const purgeUnverifiedJob = defineJob<PurgeDeps>({
  name: "purge-unverified",
  perKind: true,
  async deps(ctx) {
    const { nowMs } = await ctx.accountDeps("nowMs");
    return {
      store: await ctx.store(),
      audit: ctx.audit(),
      nowMs,
      ttlMs: ctx.config.jobs.unverifiedAccountTtlHours * 3_600_000,
    };
  },
  async step({ store, audit, nowMs, ttlMs }, { kind, cursor, batchSize }) {
    if (kind === null) throw new Error("purge-unverified runs per kind");
    const page = await store.scan(
      kind,
      { emailVerified: false, createdBeforeMs: nowMs() - ttlMs },
      { afterId: cursor, limit: batchSize },
    );
    let purged = 0;
    for (const record of page.records) {
      if (!(await store.delete(kind, record.id, record.version))) continue;
      purged += 1;
      await audit.record({
        kind,
        action: "account_purge",
        outcome: "success",
        actor: record.id,
        clientAddress: null,
        code: "unverified_expired",
        requestId: null,
      });
    }
    return {
      cursor: page.next,
      counts: { scanned: page.records.length, purged, raced: page.records.length - purged },
    };
  },
});
