import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";

/**
 * Opens a better-sqlite3 database, loading the native driver on first use. Deliberately not a
 * static import: when a function is bundled (esbuild, ESM), a static import of an external package
 * is hoisted to the bundle's top level even inside a lazily loaded adapter, so every Lambda would
 * require the native SQLite addon at cold start — and fail where only MongoDB is installed.
 */
export function openSqliteDatabase(path: string): BetterSqlite3.Database {
  const load = createRequire(import.meta.url);
  const Database = load("better-sqlite3") as typeof BetterSqlite3;
  return new Database(path);
}

/** The database type, for adapters' signatures. */
export type SqliteDatabase = BetterSqlite3.Database;

/** A prepared statement. */
export type SqliteStatement = BetterSqlite3.Statement<unknown[], unknown>;
