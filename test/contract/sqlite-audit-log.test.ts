import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteAuditLog } from "../../shared/adapters/sqlite-audit-log";
import { createSqliteUserStore } from "../../shared/adapters/sqlite-user-store";
import { makeEvent, runAuditLogContract } from "./audit-log.contract";

const root = mkdtempSync(join(tmpdir(), "sqlite-audit-log-"));
let counter = 0;
const freshPath = () => join(root, `run-${++counter}`, "users.sqlite");
const DAY_MS = 86_400_000;

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

runAuditLogContract("sqlite (temp file)", async () =>
  createSqliteAuditLog({ path: freshPath(), retentionDays: 3650 * 100 }),
);

describe("sqlite audit log specifics", () => {
  it("shares the users' database file: both open it, and the users are untouched", async () => {
    const path = freshPath();
    const users = createSqliteUserStore({ path, kinds: ["User1"] });
    const audit = createSqliteAuditLog({ path, retentionDays: 90 });
    const event = makeEvent({ atMs: Date.now() });
    await audit.record(event);
    await users.ping();
    expect(await audit.listForActor("User1", event.actor as string, 5)).toEqual([event]);
    await audit.close();
    await users.close();
    const db = new Database(path, { readonly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
    db.close();
    expect(tables).toEqual([{ name: "audit_events" }, { name: "users_User1" }]);
  });

  it("applies the retention on its own: at open, and on a write once the purge interval has passed", async () => {
    const path = freshPath();
    let now = 1_800_000_000_000;
    const actor = "usr_retention_test_actor_xx";
    const first = createSqliteAuditLog({
      path,
      retentionDays: 30,
      nowMs: () => now,
      purgeIntervalMs: 60_000,
    });
    const expired = makeEvent({ actor, atMs: now - 31 * DAY_MS });
    const kept = makeEvent({ actor, atMs: now - 29 * DAY_MS });
    await first.record(expired);
    await first.record(kept);
    // Written after this instance's purge and before the interval passed: still there.
    expect((await first.listForActor("User1", actor, 10)).length).toBe(2);
    now += 60_000;
    await first.record(makeEvent({ actor: "usr_someone_else_entirely_x", atMs: now }));
    expect(await first.listForActor("User1", actor, 10)).toEqual([kept]);
    await first.close();

    now += 2 * DAY_MS; // `kept` is now 31 days old
    const reopened = createSqliteAuditLog({ path, retentionDays: 30, nowMs: () => now });
    expect(await reopened.listForActor("User1", actor, 10)).toEqual([]);
    await reopened.close();
  });

  it("refuses a retention that is not a positive whole number of days", () => {
    for (const retentionDays of [0, -1, 1.5, Number.NaN]) {
      expect(() => createSqliteAuditLog({ path: ":memory:", retentionDays })).toThrow(RangeError);
    }
  });
});
