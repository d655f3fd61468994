/**
 * Embedded SQLite adapter of the {@link AuditLog} port (better-sqlite3): one `audit_events` table,
 * by default in the same database file as the users (its own connection; WAL lets both write).
 * Retention: events older than `retentionDays` are deleted when the log opens and then at most
 * once per `purgeIntervalMs` on a write, so a long-running dev server stays bounded without a
 * scheduler. The MongoDB adapter gets the same effect from a TTL index.
 *
 * Node-only (native module).
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { AuditEvent, AuditLog } from "../ports/audit";
import { assertAuditEvent, assertListLimit, DAY_MS } from "./audit-event-guards";
import { openSqliteDatabase } from "./sqlite-driver";

/** Options of {@link createSqliteAuditLog}. */
export interface SqliteAuditLogOptions {
  /** Database file path (its parent directory is created if missing), or `":memory:"`. */
  path: string;
  /** Events older than this many days are purged. */
  retentionDays: number;
  /** Minimum time between two automatic purges, milliseconds. @default 3600000 (one hour) */
  purgeIntervalMs?: number;
  /** Current time, epoch milliseconds (tests). @default Date.now */
  nowMs?: () => number;
  /** How long a writer waits for another connection's lock, milliseconds. @default 5000 */
  busyTimeoutMs?: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS audit_events (
    id         TEXT    NOT NULL PRIMARY KEY,
    at_ms      INTEGER NOT NULL,
    kind       TEXT,
    action     TEXT    NOT NULL,
    outcome    TEXT    NOT NULL,
    actor      TEXT,
    client     TEXT,
    code       TEXT,
    request_id TEXT,
    count      INTEGER NOT NULL DEFAULT 1
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS audit_events_actor ON audit_events (kind, actor, at_ms);
  CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at_ms);`;

interface AuditRow {
  id: string;
  at_ms: number;
  kind: string | null;
  action: string;
  outcome: string;
  actor: string | null;
  client: string | null;
  code: string | null;
  request_id: string | null;
  count: number;
}

function fromRow(row: AuditRow): AuditEvent {
  return {
    ...(row.count > 1 ? { count: row.count } : {}),
    id: row.id,
    atMs: row.at_ms,
    kind: row.kind,
    action: row.action as AuditEvent["action"],
    outcome: row.outcome as AuditEvent["outcome"],
    actor: row.actor,
    client: row.client,
    code: row.code,
    requestId: row.request_id,
  };
}

/** The bound parameters of an event's row (without `count`). */
function toRow(event: AuditEvent) {
  return {
    id: event.id,
    at_ms: event.atMs,
    kind: event.kind,
    action: event.action,
    outcome: event.outcome,
    actor: event.actor,
    client: event.client,
    code: event.code,
    request_id: event.requestId,
  };
}

/**
 * Creates an {@link AuditLog} on an SQLite file (or `":memory:"`): WAL journal, `busy_timeout`,
 * the `audit_events` table and its indexes created idempotently, then a first retention purge.
 * Every value is a bound parameter. `record` ignores a repeated id (`INSERT OR IGNORE`);
 * `recordAggregated` adds to its count (`INSERT … ON CONFLICT (id) DO UPDATE`, atomic).
 *
 * @throws RangeError when `retentionDays` is not a positive integer.
 * @example
 * const audit = createSqliteAuditLog({ path: ".data/users.sqlite", retentionDays: 90 });
 */
export function createSqliteAuditLog(opts: SqliteAuditLogOptions): AuditLog {
  if (!Number.isInteger(opts.retentionDays) || opts.retentionDays < 1) {
    throw new RangeError("retentionDays must be a positive integer");
  }
  const nowMs = opts.nowMs ?? Date.now;
  const retentionMs = opts.retentionDays * DAY_MS;
  const purgeIntervalMs = opts.purgeIntervalMs ?? 3_600_000;
  if (opts.path !== ":memory:" && opts.path !== "") mkdirSync(dirname(opts.path), { recursive: true });
  const db = openSqliteDatabase(opts.path);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma(`busy_timeout = ${Math.trunc(opts.busyTimeoutMs ?? 5000)}`);
    db.exec(SCHEMA);
    // Tables created before aggregated events existed get the column (every old row counts one).
    const columns = db.prepare("PRAGMA table_info(audit_events)").all() as { name: string }[];
    if (!columns.some((c) => c.name === "count"))
      db.exec("ALTER TABLE audit_events ADD COLUMN count INTEGER NOT NULL DEFAULT 1");
  } catch (error) {
    db.close();
    throw error;
  }
  const insert = db.prepare(
    `INSERT OR IGNORE INTO audit_events (id, at_ms, kind, action, outcome, actor, client, code, request_id)
     VALUES (@id, @at_ms, @kind, @action, @outcome, @actor, @client, @code, @request_id)`,
  );
  const aggregate = db.prepare(
    `INSERT INTO audit_events (id, at_ms, kind, action, outcome, actor, client, code, request_id, count)
     VALUES (@id, @at_ms, @kind, @action, @outcome, @actor, @client, @code, @request_id, @count)
     ON CONFLICT (id) DO UPDATE SET count = count + excluded.count`,
  );
  const byActor = db.prepare(
    "SELECT * FROM audit_events WHERE kind = ? AND actor = ? ORDER BY at_ms DESC, id DESC LIMIT ?",
  );
  const purge = db.prepare("DELETE FROM audit_events WHERE at_ms < ?");
  let lastPurgeMs = Number.NEGATIVE_INFINITY;
  const purgeExpired = () => {
    const now = nowMs();
    lastPurgeMs = now;
    purge.run(now - retentionMs);
  };
  purgeExpired();

  return {
    async record(event) {
      assertAuditEvent(event);
      insert.run(toRow(event));
      if (nowMs() - lastPurgeMs >= purgeIntervalMs) purgeExpired();
    },

    async recordAggregated(event) {
      assertAuditEvent(event);
      aggregate.run({ ...toRow(event), count: event.count ?? 1 });
      if (nowMs() - lastPurgeMs >= purgeIntervalMs) purgeExpired();
    },

    async listForActor(kind, actor, limit) {
      assertListLimit(limit);
      if (typeof kind !== "string" || typeof actor !== "string") {
        throw new TypeError("kind and actor must be strings");
      }
      return (byActor.all(kind, actor, limit) as AuditRow[]).map(fromRow);
    },

    async purgeOlderThan(epochMs) {
      if (!Number.isFinite(epochMs)) throw new TypeError("epochMs must be a finite number");
      return purge.run(Math.trunc(epochMs)).changes;
    },

    async close() {
      if (db.open) db.close();
    },
  };
}
