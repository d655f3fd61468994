/**
 * Embedded SQLite adapter of the {@link UserStore} port (better-sqlite3, synchronous, behind the async
 * port). The local default and the test store; MongoDB is the production adapter (DESIGN.md section 8).
 *
 * One table per kind, `users_<kind>`, with snake_case columns and booleans as 0/1. The table name is
 * built only from a kind validated against `USER_KIND_PATTERN`; every value is a bound parameter.
 * All SQL lives in {@link schemaSql} and {@link statementSql}, one template for every kind.
 *
 * Node-only (native module): functions using it are `node` in the manifest.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type {
  CreateResult,
  UpdateResult,
  UserPatch,
  UserQuery,
  UserRecord,
  UserStore,
} from "../ports/user-store";
import { openSqliteDatabase, type SqliteDatabase, type SqliteStatement } from "./sqlite-driver";
import {
  assertKnownKind,
  assertScanPage,
  assertString,
  assertUserQuery,
  assertUserRecord,
  assertVersion,
  keysetPages,
  type PatchField,
  patchEntries,
  validateKinds,
  validatePageSize,
  wrappedKeyPrefix,
} from "./user-record-guards";

/** Schema version stored in `PRAGMA user_version`; the hook for future migrations. */
export const SQLITE_SCHEMA_VERSION = 2;

/** Options of {@link createSqliteUserStore}. */
export interface SqliteUserStoreOptions {
  /** Database file path (its parent directory is created if missing), or `":memory:"`. */
  path: string;
  /** User kinds served, each matching `USER_KIND_PATTERN`; one table per kind. */
  kinds: string[];
  /** Rows per page of {@link UserStore.emailIndexes}. @default 500 */
  emailIndexPageSize?: number;
  /** How long a writer waits for another connection's lock before failing, in milliseconds. @default 5000 */
  busyTimeoutMs?: number;
}

/** Column of each patchable field; the only column names the dynamic-looking UPDATE uses. */
const PATCH_COLUMNS: Record<PatchField, string> = {
  email: "email",
  firstName: "first_name",
  lastName: "last_name",
  phone: "phone",
  countryCode: "country_code",
  country: "country",
  passwordHash: "password_hash",
  dataKey: "data_key",
  emailVerified: "email_verified",
  phoneVerified: "phone_verified",
  mfa: "mfa",
};

/** A row as SQLite returns it. */
interface UserRow {
  id: string;
  email_index: string;
  email: string;
  first_name: string;
  last_name: string;
  phone: string;
  country_code: string;
  country: string | null;
  password_hash: string;
  data_key: string;
  email_verified: number;
  phone_verified: number;
  created_at_ms: number;
  updated_at_ms: number;
  version: number;
  mfa: string | null;
}

/** Quoted table name of a kind. Callers pass only kinds that passed `validateKinds`. */
function tableOf(kind: string): string {
  return `"users_${kind}"`;
}

/** DDL of one kind's table; idempotent. */
function schemaSql(kind: string): string {
  const t = tableOf(kind);
  return `
    CREATE TABLE IF NOT EXISTS ${t} (
      id             TEXT    NOT NULL PRIMARY KEY,
      email_index    TEXT    NOT NULL,
      email          TEXT    NOT NULL,
      first_name     TEXT    NOT NULL,
      last_name      TEXT    NOT NULL,
      phone          TEXT    NOT NULL,
      country_code   TEXT    NOT NULL,
      country        TEXT,
      password_hash  TEXT    NOT NULL,
      data_key       TEXT    NOT NULL,
      email_verified INTEGER NOT NULL CHECK (email_verified IN (0, 1)),
      phone_verified INTEGER NOT NULL CHECK (phone_verified IN (0, 1)),
      created_at_ms  INTEGER NOT NULL,
      updated_at_ms  INTEGER NOT NULL,
      version        INTEGER NOT NULL,
      mfa            TEXT
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX IF NOT EXISTS "users_${kind}_email_index" ON ${t} (email_index);
    CREATE INDEX IF NOT EXISTS "users_${kind}_created" ON ${t} (created_at_ms);`;
}

/** Every statement a kind uses. The UPDATE sets each column only when its `set_*` flag is 1. */
function statementSql(kind: string) {
  const t = tableOf(kind);
  const setters = Object.values(PATCH_COLUMNS)
    .map((c) => `${c} = CASE WHEN @set_${c} THEN @${c} ELSE ${c} END`)
    .join(",\n      ");
  return {
    insert: `INSERT INTO ${t} (id, email_index, email, first_name, last_name, phone, country_code, country,
        password_hash, data_key, email_verified, phone_verified, created_at_ms, updated_at_ms, version, mfa)
      VALUES (@id, @email_index, @email, @first_name, @last_name, @phone, @country_code, @country,
        @password_hash, @data_key, @email_verified, @phone_verified, @created_at_ms, @updated_at_ms, @version, @mfa)`,
    byId: `SELECT * FROM ${t} WHERE id = ?`,
    byEmailIndex: `SELECT * FROM ${t} WHERE email_index = ?`,
    versionById: `SELECT version FROM ${t} WHERE id = ?`,
    update: `UPDATE ${t} SET
      ${setters},
      updated_at_ms = @updated_at_ms,
      version = version + 1
      WHERE id = @id AND version = @expected_version
      RETURNING *`,
    delete: `DELETE FROM ${t} WHERE id = ?`,
    deleteVersion: `DELETE FROM ${t} WHERE id = ? AND version = ?`,
    firstIndexes: `SELECT email_index FROM ${t} ORDER BY email_index LIMIT ?`,
    nextIndexes: `SELECT email_index FROM ${t} WHERE email_index > ? ORDER BY email_index LIMIT ?`,
  };
}

type Statements = { [K in keyof ReturnType<typeof statementSql>]: SqliteStatement };

function toRow(r: UserRecord): UserRow {
  return {
    id: r.id,
    email_index: r.emailIndex,
    email: r.email,
    first_name: r.firstName,
    last_name: r.lastName,
    phone: r.phone,
    country_code: r.countryCode,
    country: r.country,
    password_hash: r.passwordHash,
    data_key: r.dataKey,
    email_verified: r.emailVerified ? 1 : 0,
    phone_verified: r.phoneVerified ? 1 : 0,
    created_at_ms: r.createdAtMs,
    updated_at_ms: r.updatedAtMs,
    version: r.version,
    mfa: r.mfa,
  };
}

function fromRow(row: UserRow): UserRecord {
  return {
    id: row.id,
    emailIndex: row.email_index,
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    phone: row.phone,
    countryCode: row.country_code,
    country: row.country,
    passwordHash: row.password_hash,
    dataKey: row.data_key,
    emailVerified: row.email_verified === 1,
    phoneVerified: row.phone_verified === 1,
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
    version: row.version,
    mfa: row.mfa ?? null,
  };
}

/** Named parameters of the UPDATE: every column with its `set_*` flag, unset ones bound to null. */
function updateParams(id: string, expectedVersion: number, patch: UserPatch, nowMs: number) {
  const params: Record<string, string | number | null> = { id, expected_version: expectedVersion };
  for (const column of Object.values(PATCH_COLUMNS)) {
    params[`set_${column}`] = 0;
    params[column] = null;
  }
  for (const { field, value } of patchEntries(patch)) {
    const column = PATCH_COLUMNS[field];
    params[`set_${column}`] = 1;
    params[column] = typeof value === "boolean" ? (value ? 1 : 0) : value;
  }
  params.updated_at_ms = nowMs;
  return params;
}

/**
 * The WHERE conditions of a validated {@link UserQuery} as fixed SQL fragments with named
 * parameters (no value is ever spliced into the text). Key ids are compared as a prefix with
 * `substr`, not `LIKE`, whose `_` would be a wildcard.
 */
function querySql(query: UserQuery): { where: string[]; params: Record<string, string | number> } {
  const where: string[] = [];
  const params: Record<string, string | number> = {};
  if (query.emailVerified !== undefined) {
    where.push("email_verified = @email_verified");
    params.email_verified = query.emailVerified ? 1 : 0;
  }
  if (query.createdBeforeMs !== undefined) {
    where.push("created_at_ms < @created_before");
    params.created_before = query.createdBeforeMs;
  }
  if (query.createdSinceMs !== undefined) {
    where.push("created_at_ms >= @created_since");
    params.created_since = query.createdSinceMs;
  }
  if (query.dataKeyId !== undefined) {
    where.push("substr(data_key, 1, length(@kid_in)) = @kid_in");
    params.kid_in = wrappedKeyPrefix(query.dataKeyId);
  }
  if (query.dataKeyIdNot !== undefined) {
    where.push("substr(data_key, 1, length(@kid_out)) <> @kid_out");
    params.kid_out = wrappedKeyPrefix(query.dataKeyIdNot);
  }
  return { where, params };
}

/** Maps a unique-constraint failure of an insert to the port's result; `null` for any other error. */
function duplicateCodeOf(error: unknown): "duplicate_email" | "duplicate_id" | null {
  // better-sqlite3's SqliteError: a `code` starting with SQLITE_ (checked structurally, so the
  // native driver need not be loaded just to classify an error).
  if (!(error instanceof Error) || !("code" in error) || typeof error.code !== "string") return null;
  if (error.code !== "SQLITE_CONSTRAINT_UNIQUE" && error.code !== "SQLITE_CONSTRAINT_PRIMARYKEY") return null;
  // The message names the column: "UNIQUE constraint failed: users_User1.email_index".
  if (error.message.endsWith(".email_index")) return "duplicate_email";
  if (error.message.endsWith(".id")) return "duplicate_id";
  return null;
}

/**
 * Migration 1 → 2: the `mfa` column (second-factor envelope, NULL = none) on a table created by
 * schema version 1. Idempotent: a table that already has it (created by version 2) is left alone.
 */
function addMfaColumn(db: SqliteDatabase, kind: string): void {
  const columns = db.prepare(`PRAGMA table_info(${tableOf(kind)})`).all() as { name: string }[];
  if (!columns.some((c) => c.name === "mfa")) db.exec(`ALTER TABLE ${tableOf(kind)} ADD COLUMN mfa TEXT`);
}

/** Opens the database, sets connection pragmas, creates every kind's table and checks the schema version. */
function openDatabase(path: string, kinds: ReadonlySet<string>, busyTimeoutMs: number): SqliteDatabase {
  if (path !== ":memory:" && path !== "") mkdirSync(dirname(path), { recursive: true });
  const db = openSqliteDatabase(path);
  try {
    // WAL lets readers run beside the writer; NORMAL sync is durable across app crashes in WAL mode.
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    db.pragma("foreign_keys = ON");
    db.transaction(() => {
      const version = db.pragma("user_version", { simple: true }) as number;
      if (version > SQLITE_SCHEMA_VERSION) {
        throw new Error(
          `database schema version ${version} is newer than supported ${SQLITE_SCHEMA_VERSION}`,
        );
      }
      for (const kind of kinds) {
        db.exec(schemaSql(kind));
        if (version < 2) addMfaColumn(db, kind);
      }
      if (version < SQLITE_SCHEMA_VERSION) db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
    }).immediate();
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Creates a {@link UserStore} on an SQLite file (or `":memory:"`): WAL journal, `busy_timeout`,
 * `foreign_keys`, one table per kind created idempotently with a UNIQUE index on `email_index`,
 * and `PRAGMA user_version` = {@link SQLITE_SCHEMA_VERSION}.
 *
 * `update` is one `UPDATE … WHERE id = ? AND version = ?` (compare-and-set); `emailIndexes` pages by
 * keyset over the unique index. Methods reject with a plain Error for an unknown kind and a
 * TypeError for a mistyped argument (programming errors); SQLite faults propagate as `SqliteError`.
 *
 * @throws Error at construction for an invalid or duplicate kind, or a database whose schema
 *   version is newer than this code.
 * @example
 * const store = createSqliteUserStore({ path: ".data/users.sqlite", kinds: ["User1", "User2"] });
 */
export function createSqliteUserStore(opts: SqliteUserStoreOptions): UserStore {
  const kinds = validateKinds(opts.kinds);
  const pageSize = validatePageSize(opts.emailIndexPageSize ?? 500);
  const db = openDatabase(opts.path, kinds, opts.busyTimeoutMs ?? 5000);
  const statements = new Map<string, Statements>();
  for (const kind of kinds) {
    const sql = statementSql(kind);
    const prepared = Object.fromEntries(Object.entries(sql).map(([name, text]) => [name, db.prepare(text)]));
    statements.set(kind, prepared as Statements);
  }
  const ping = db.prepare("SELECT 1");
  /** Scan and count statements by their SQL text (a handful of query shapes per kind). */
  const dynamic = new Map<string, SqliteStatement>();
  const prepared = (sql: string): SqliteStatement => {
    let statement = dynamic.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      dynamic.set(sql, statement);
    }
    return statement;
  };

  /** The prepared statements of a kind; throws for an unknown kind. */
  function forKind(kind: string): Statements {
    assertKnownKind(kinds, kind);
    return statements.get(kind) as Statements;
  }

  return {
    async create(kind, record) {
      const s = forKind(kind);
      assertUserRecord(record);
      try {
        s.insert.run(toRow(record));
        return { ok: true };
      } catch (error) {
        const code = duplicateCodeOf(error);
        if (code === null) throw error;
        return { ok: false, code } satisfies CreateResult;
      }
    },

    async findById(kind, id) {
      const s = forKind(kind);
      assertString("id", id);
      const row = s.byId.get(id) as UserRow | undefined;
      return row === undefined ? null : fromRow(row);
    },

    async findByEmailIndex(kind, emailIndex) {
      const s = forKind(kind);
      assertString("emailIndex", emailIndex);
      const row = s.byEmailIndex.get(emailIndex) as UserRow | undefined;
      return row === undefined ? null : fromRow(row);
    },

    async update(kind, id, expectedVersion, patch): Promise<UpdateResult> {
      const s = forKind(kind);
      assertString("id", id);
      assertVersion(expectedVersion);
      const row = s.update.get(updateParams(id, expectedVersion, patch, Date.now())) as UserRow | undefined;
      if (row !== undefined) return { ok: true, record: fromRow(row) };
      // No row matched id AND version: tell a stale version from a missing record.
      const exists = s.versionById.get(id) !== undefined;
      return { ok: false, code: exists ? "conflict" : "not_found" };
    },

    async delete(kind, id, expectedVersion) {
      const s = forKind(kind);
      assertString("id", id);
      if (expectedVersion === undefined) return s.delete.run(id).changes > 0;
      assertVersion(expectedVersion);
      return s.deleteVersion.run(id, expectedVersion).changes > 0;
    },

    emailIndexes(kind, after) {
      // Validated here, not inside the generator, so an unknown kind fails at the call.
      const s = forKind(kind);
      if (after !== undefined) assertString("after", after);
      return keysetPages(
        pageSize,
        (from, limit) => {
          const rows = (from === null ? s.firstIndexes.all(limit) : s.nextIndexes.all(from, limit)) as {
            email_index: string;
          }[];
          return rows.map((r) => r.email_index);
        },
        after ?? null,
      );
    },

    async scan(kind, query, page) {
      forKind(kind);
      assertScanPage(page);
      const { where, params } = querySql(assertUserQuery(query));
      if (page.afterId !== null) {
        where.push("id > @after_id");
        params.after_id = page.afterId;
      }
      const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
      const sql = `SELECT * FROM ${tableOf(kind)} ${clause} ORDER BY id LIMIT @limit`;
      const rows = prepared(sql).all({ ...params, limit: page.limit }) as UserRow[];
      const records = rows.map(fromRow);
      return { records, next: records.length === page.limit ? (records.at(-1)?.id ?? null) : null };
    },

    async count(kind, query) {
      forKind(kind);
      const { where, params } = querySql(assertUserQuery(query));
      const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
      const row = prepared(`SELECT COUNT(*) AS n FROM ${tableOf(kind)} ${clause}`).get(params) as {
        n: number;
      };
      return row.n;
    },

    async ping() {
      ping.get();
    },

    async close() {
      if (db.open) db.close();
    },
  };
}
