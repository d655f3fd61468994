/**
 * MongoDB adapter of the {@link UserStore} port (official `mongodb` driver v7), the production store.
 *
 * Serverless notes: the `MongoClient` is cached at module level per connection URL, so warm Lambda
 * invocations reuse its pool instead of reconnecting; the pool is small because one Lambda instance
 * serves one request at a time; server selection fails fast so `/health` and requests report a down
 * database instead of hanging until the function times out. The unique index on `emailIndex` is
 * created once per container per collection, before the first insert.
 *
 * Injection: every filter is built here from port-typed strings and numbers, never from a caller
 * object, and ids/indexes are checked with `typeof === "string"` at run time, so an operator such
 * as `{"$ne": null}` cannot reach a query (OWASP NoSQL injection).
 *
 * Node-only: functions using it are `node` in the manifest.
 */
import { type Collection, type Filter, MongoClient, type MongoClientOptions } from "mongodb";
import type { UpdateResult, UserQuery, UserRecord, UserStore } from "../ports/user-store";
import { type ClaimDoc, withTransitionClaim } from "./mongo-update-claims";
import {
  claimsCollectionNameOf,
  collectionNameOf,
  duplicateCodeOf,
  EMAIL_INDEX_NAME,
  fromUserDoc,
  isDuplicateKeyError,
  toSetDoc,
  toUserDoc,
  type UserDoc,
} from "./mongo-user-doc";
import {
  assertKnownKind,
  assertScanPage,
  assertString,
  assertUserQuery,
  assertUserRecord,
  assertVersion,
  keysetPages,
  validateKinds,
  validatePageSize,
  wrappedKeyPrefix,
} from "./user-record-guards";

/** Options of {@link createMongoUserStore}. */
export interface MongoUserStoreOptions {
  /** Connection string (`MONGO_URL`), e.g. `mongodb+srv://…`. Key of the per-container client cache. */
  url: string;
  /** Database holding the `users_<kind>` collections. */
  dbName: string;
  /** User kinds served, each matching `USER_KIND_PATTERN`; one collection per kind. */
  kinds: string[];
  /** A client owned by the caller; when given it is used instead of the cache and `close()` leaves it open. */
  client?: MongoClient;
  /** Documents per page of {@link UserStore.emailIndexes}. @default 500 */
  emailIndexPageSize?: number;
}

/** Client settings for Lambda: few connections per instance, fail fast when no server is reachable. */
export const MONGO_CLIENT_OPTIONS = {
  appName: "serverless-auth",
  maxPoolSize: 5,
  minPoolSize: 0,
  maxIdleTimeMS: 60_000,
  serverSelectionTimeoutMS: 5_000,
  connectTimeoutMS: 5_000,
} as const satisfies MongoClientOptions;

/** Name of the plain index on `createdAtMs` (scans of the scheduled jobs). */
const CREATED_INDEX_NAME = "createdAtMs";

/** An anchored regular expression for "wrapped under `keyId`"; key ids are `[A-Za-z0-9_-]` only (checked). */
function wrappedUnder(keyId: string): RegExp {
  return new RegExp(`^${wrappedKeyPrefix(keyId).replaceAll(".", "\\.")}`);
}

/**
 * The filter of a validated {@link UserQuery}, built field by field from typed values (never from
 * the caller's object). Key ids become anchored regular expressions (`$regex`, `$not`), which
 * MongoDB and FerretDB both evaluate.
 */
function queryFilter(query: UserQuery): Filter<UserDoc> {
  const filter: Filter<UserDoc> = {};
  if (query.emailVerified !== undefined) filter.emailVerified = query.emailVerified;
  const created: { $lt?: number; $gte?: number } = {};
  if (query.createdBeforeMs !== undefined) created.$lt = query.createdBeforeMs;
  if (query.createdSinceMs !== undefined) created.$gte = query.createdSinceMs;
  if (Object.keys(created).length > 0) filter.createdAtMs = created;
  if (query.dataKeyId !== undefined && query.dataKeyIdNot !== undefined) {
    filter.$and = [
      { dataKey: { $regex: wrappedUnder(query.dataKeyId) } },
      { dataKey: { $not: wrappedUnder(query.dataKeyIdNot) } },
    ];
  } else if (query.dataKeyId !== undefined) filter.dataKey = { $regex: wrappedUnder(query.dataKeyId) };
  else if (query.dataKeyIdNot !== undefined) filter.dataKey = { $not: wrappedUnder(query.dataKeyIdNot) };
  return filter;
}

/** Per-container clients by URL, with the number of open stores using each. */
const clients = new Map<string, { client: MongoClient; users: number }>();

/** Per-container index creation by `url|db|collection`: runs once, retried if it failed. */
const indexesReady = new Map<string, Promise<void>>();

/**
 * The cached client of `url`, created (not yet connected: the driver connects on first use) if
 * absent. Shared with the other MongoDB adapters (audit log), so a container holds one pool per URL.
 * Pair every call with {@link releaseClient}.
 */
export function acquireClient(url: string): MongoClient {
  let entry = clients.get(url);
  if (entry === undefined) {
    entry = { client: new MongoClient(url, MONGO_CLIENT_OPTIONS), users: 0 };
    clients.set(url, entry);
  }
  entry.users += 1;
  return entry.client;
}

/** Releases one use of a cached client; closes it when no adapter uses it any more. */
export async function releaseClient(url: string, client: MongoClient): Promise<void> {
  const entry = clients.get(url);
  if (entry === undefined || entry.client !== client) return;
  entry.users -= 1;
  if (entry.users > 0) return;
  clients.delete(url);
  await client.close();
}

/**
 * Creates a {@link UserStore} on MongoDB: collection `users_<kind>` per kind, `_id` = record id,
 * a unique index on `emailIndex`. `create` maps E11000 to `duplicate_email`/`duplicate_id` (by the
 * key pattern or index name the error reports; when it reports neither, by looking up which of the
 * two keys is taken). `update` claims the version transition (`mongo-update-claims.ts`: exclusive
 * even where the server's filtered update is not atomic), then runs one
 * `findOneAndUpdate({_id, version}, {$set, $inc: {version: 1}})` (compare-and-set), followed on a
 * miss by an existence check to tell `conflict` from `not_found`.
 * Methods reject with a plain Error for an unknown kind and a TypeError for a mistyped argument
 * (programming errors); driver faults (e.g. `MongoServerSelectionError`) propagate.
 *
 * @throws Error at construction for an invalid or duplicate kind, or an empty `url`/`dbName`.
 * @example
 * const store = createMongoUserStore({ url: env.MONGO_URL, dbName: "auth", kinds: ["User1", "User2"] });
 */
export function createMongoUserStore(opts: MongoUserStoreOptions): UserStore {
  const kinds = validateKinds(opts.kinds);
  const pageSize = validatePageSize(opts.emailIndexPageSize ?? 500);
  if (opts.url === "" || opts.dbName === "") throw new Error("createMongoUserStore needs a url and a dbName");
  const ownsClient = opts.client === undefined;
  const client = opts.client ?? acquireClient(opts.url);
  const db = client.db(opts.dbName);
  let closed = false;

  function collectionOf(kind: string): Collection<UserDoc> {
    assertKnownKind(kinds, kind);
    return db.collection<UserDoc>(collectionNameOf(kind));
  }

  /**
   * Which unique key of `record` is taken, for a duplicate-key error that does not say (FerretDB v1
   * reports only the collection). `_id` first, as MongoDB checks it first. `null` when neither is
   * taken any more (the holder was deleted since): the caller rethrows the original error.
   */
  async function takenKeyOf(collection: Collection<UserDoc>, record: UserRecord) {
    if ((await collection.findOne({ _id: record.id }, { projection: { _id: 1 } })) !== null) {
      return "duplicate_id" as const;
    }
    const byEmail = await collection.findOne({ emailIndex: record.emailIndex }, { projection: { _id: 1 } });
    return byEmail === null ? null : ("duplicate_email" as const);
  }

  /**
   * Ensures the unique email index (and the sign-up time index the jobs' scans use) exist before
   * the first insert into a collection (once per container).
   */
  function ensureIndexes(kind: string, collection: Collection<UserDoc>): Promise<void> {
    const key = `${opts.url}|${opts.dbName}|${collectionNameOf(kind)}`;
    let ready = indexesReady.get(key);
    if (ready === undefined) {
      ready = collection
        .createIndexes([
          { key: { emailIndex: 1 }, unique: true, name: EMAIL_INDEX_NAME },
          // For the scheduled jobs' scans by sign-up time (purge-unverified, bloom-rebuild).
          { key: { createdAtMs: 1 }, name: CREATED_INDEX_NAME },
        ])
        .then(() => undefined)
        .catch((error: unknown) => {
          indexesReady.delete(key);
          throw error;
        });
      indexesReady.set(key, ready);
    }
    return ready;
  }

  return {
    async create(kind, record) {
      const collection = collectionOf(kind);
      assertUserRecord(record);
      await ensureIndexes(kind, collection);
      try {
        await collection.insertOne(toUserDoc(record));
        return { ok: true };
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        const code = duplicateCodeOf(error) ?? (await takenKeyOf(collection, record));
        if (code === null) throw error;
        return { ok: false, code };
      }
    },

    async findById(kind, id) {
      const collection = collectionOf(kind);
      assertString("id", id);
      const doc = await collection.findOne({ _id: id });
      return doc === null ? null : fromUserDoc(doc);
    },

    async findByEmailIndex(kind, emailIndex) {
      const collection = collectionOf(kind);
      assertString("emailIndex", emailIndex);
      const doc = await collection.findOne({ emailIndex });
      return doc === null ? null : fromUserDoc(doc);
    },

    async update(kind, id, expectedVersion, patch): Promise<UpdateResult> {
      const collection = collectionOf(kind);
      assertString("id", id);
      assertVersion(expectedVersion);
      const set = toSetDoc(patch, Date.now());
      const claims = db.collection<ClaimDoc>(claimsCollectionNameOf(kind));
      const claim = await withTransitionClaim(claims, id, expectedVersion, () =>
        collection.findOneAndUpdate(
          { _id: id, version: expectedVersion },
          { $set: set, $inc: { version: 1 } },
          // v6+ returns the document itself unless includeResultMetadata is true.
          { returnDocument: "after", includeResultMetadata: false },
        ),
      );
      if (claim.claimed && claim.value !== null) return { ok: true, record: fromUserDoc(claim.value) };
      const exists = await collection.findOne({ _id: id }, { projection: { _id: 1 } });
      return { ok: false, code: exists === null ? "not_found" : "conflict" };
    },

    async delete(kind, id, expectedVersion) {
      const collection = collectionOf(kind);
      assertString("id", id);
      if (expectedVersion === undefined) return (await collection.deleteOne({ _id: id })).deletedCount > 0;
      assertVersion(expectedVersion);
      // The same claim as an update from this version, so a delete and an update never both win.
      const claims = db.collection<ClaimDoc>(claimsCollectionNameOf(kind));
      const claim = await withTransitionClaim(claims, id, expectedVersion, () =>
        collection.deleteOne({ _id: id, version: expectedVersion }),
      );
      return claim.claimed && claim.value.deletedCount > 0;
    },

    emailIndexes(kind, after) {
      // Validated here, not inside the generator, so an unknown kind fails at the call.
      const collection = collectionOf(kind);
      if (after !== undefined) assertString("after", after);
      return keysetPages(
        pageSize,
        async (from, limit) => {
          const docs = await collection
            .find(from === null ? {} : { emailIndex: { $gt: from } }, {
              projection: { _id: 0, emailIndex: 1 },
              sort: { emailIndex: 1 },
              limit,
            })
            .toArray();
          return docs.map((d) => d.emailIndex);
        },
        after ?? null,
      );
    },

    async scan(kind, query, page) {
      const collection = collectionOf(kind);
      assertScanPage(page);
      const filter = queryFilter(assertUserQuery(query));
      if (page.afterId !== null) filter._id = { $gt: page.afterId };
      const docs = await collection.find(filter, { sort: { _id: 1 }, limit: page.limit }).toArray();
      const records = docs.map(fromUserDoc);
      return { records, next: records.length === page.limit ? (records.at(-1)?.id ?? null) : null };
    },

    async count(kind, query) {
      const collection = collectionOf(kind);
      return collection.countDocuments(queryFilter(assertUserQuery(query)));
    },

    async ping() {
      await db.command({ ping: 1 });
    },

    async close() {
      if (closed) return;
      closed = true;
      if (ownsClient) await releaseClient(opts.url, client);
    },
  };
}
