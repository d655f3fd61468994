import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteUserStore, SQLITE_SCHEMA_VERSION } from "../../shared/adapters/sqlite-user-store";
import { CONTRACT_KINDS, makeRecord, runUserStoreContract } from "./user-store.contract";

const root = mkdtempSync(join(tmpdir(), "sqlite-user-store-"));
let counter = 0;
/** A fresh database path inside a directory that does not exist yet (the adapter must create it). */
function freshPath(): string {
  counter += 1;
  return join(root, `run-${counter}`, "nested", "users.sqlite");
}

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

runUserStoreContract("sqlite (temp file)", async () =>
  createSqliteUserStore({ path: freshPath(), kinds: [...CONTRACT_KINDS], emailIndexPageSize: 64 }),
);

describe("sqlite user store specifics", () => {
  it("opens the file in WAL mode and records the schema version", async () => {
    const path = freshPath();
    const store = createSqliteUserStore({ path, kinds: ["User1"] });
    await store.create("User1", makeRecord());
    const probe = new Database(path, { readonly: true });
    try {
      expect(probe.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(probe.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    } finally {
      probe.close();
      await store.close();
    }
  });

  it("reopens an existing file idempotently, keeping data and adding tables for new kinds", async () => {
    const path = freshPath();
    const record = makeRecord();
    const first = createSqliteUserStore({ path, kinds: ["User1"] });
    await first.create("User1", record);
    await first.close();
    const second = createSqliteUserStore({ path, kinds: ["User1", "Admin"] });
    try {
      expect(await second.findById("User1", record.id)).toStrictEqual(record);
      expect(await second.create("Admin", makeRecord({ emailIndex: record.emailIndex }))).toEqual({
        ok: true,
      });
    } finally {
      await second.close();
    }
  });

  it("migrates a schema-1 file: adds the mfa column, keeps the rows, reads them as mfa null", async () => {
    const path = freshPath();
    const { mfa: _none, ...old } = makeRecord();
    mkdirSync(dirname(path), { recursive: true });
    const v1 = new Database(path);
    v1.exec(`CREATE TABLE "users_User1" (id TEXT NOT NULL PRIMARY KEY, email_index TEXT NOT NULL,
      email TEXT NOT NULL, first_name TEXT NOT NULL, last_name TEXT NOT NULL, phone TEXT NOT NULL,
      country_code TEXT NOT NULL, country TEXT, password_hash TEXT NOT NULL, data_key TEXT NOT NULL,
      email_verified INTEGER NOT NULL, phone_verified INTEGER NOT NULL, created_at_ms INTEGER NOT NULL,
      updated_at_ms INTEGER NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID`);
    v1.prepare(`INSERT INTO "users_User1" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      old.id,
      old.emailIndex,
      old.email,
      old.firstName,
      old.lastName,
      old.phone,
      old.countryCode,
      old.country,
      old.passwordHash,
      old.dataKey,
      0,
      1,
      old.createdAtMs,
      old.updatedAtMs,
      old.version,
    );
    v1.pragma("user_version = 1");
    v1.close();
    const store = createSqliteUserStore({ path, kinds: ["User1"] });
    try {
      expect(await store.findById("User1", old.id)).toStrictEqual({ ...old, mfa: null });
      const updated = await store.update("User1", old.id, 1, { mfa: "v1.dk.aaaa.bbbb" });
      expect(updated.ok && updated.record.mfa).toBe("v1.dk.aaaa.bbbb");
    } finally {
      await store.close();
    }
    const probe = new Database(path, { readonly: true });
    try {
      expect(probe.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    } finally {
      probe.close();
    }
  });

  it("refuses a database written by a newer schema version", async () => {
    const path = freshPath();
    await createSqliteUserStore({ path, kinds: ["User1"] }).close();
    const db = new Database(path);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => createSqliteUserStore({ path, kinds: ["User1"] })).toThrow(/newer than supported/);
  });

  it("refuses kinds that are not safe identifiers or collide case-insensitively", () => {
    for (const kinds of [
      ["User1; DROP TABLE x"],
      ['User"1'],
      ["1User"],
      [""],
      ["a".repeat(33)],
      ["User1", "user1"],
    ]) {
      expect(() => createSqliteUserStore({ path: ":memory:", kinds })).toThrow(/kind/);
    }
  });

  it("works in memory", async () => {
    const store = createSqliteUserStore({ path: ":memory:", kinds: ["User1"] });
    const record = makeRecord();
    expect(await store.create("User1", record)).toEqual({ ok: true });
    expect(await store.findByEmailIndex("User1", record.emailIndex)).toStrictEqual(record);
    await store.close();
  });

  it("fails ping after close instead of pretending to be healthy", async () => {
    const store = createSqliteUserStore({ path: ":memory:", kinds: ["User1"] });
    await store.close();
    await expect(store.ping()).rejects.toThrow();
  });
});
