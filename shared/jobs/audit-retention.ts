/**
 * `audit-retention` (daily): deletes audit events older than `AUDIT_RETENTION_DAYS` (OWASP Logging
 * Cheat Sheet, "data retention"). It is what enforces the retention where the store has no TTL of
 * its own (SQLite, whose own purge runs only when events are written; MongoDB-protocol servers
 * without TTL indexes such as FerretDB v1, whose adapter reports `retention() === "purge_job"`); on
 * MongoDB it removes, exactly, what the approximate TTL monitor has not removed yet. One step:
 * `purgeOlderThan` is a single indexed delete, idempotent, so a retry repeats it harmlessly.
 */
import type { AuditLog } from "../ports/audit";
import { defineJob } from "./job";

interface RetentionDeps {
  auditLog: AuditLog;
  nowMs(): number;
  retentionMs: number;
}

/** See the file comment. Counts: `deleted`. */
export const auditRetentionJob = defineJob<RetentionDeps>({
  name: "audit-retention",
  perKind: false,
  async deps(ctx) {
    const { nowMs } = await ctx.accountDeps("nowMs");
    return {
      auditLog: await ctx.auditLog(),
      nowMs,
      retentionMs: ctx.config.audit.retentionDays * 86_400_000,
    };
  },
  async step({ auditLog, nowMs, retentionMs }) {
    return { cursor: null, counts: { deleted: await auditLog.purgeOlderThan(nowMs() - retentionMs) } };
  },
});
