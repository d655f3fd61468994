/**
 * MongoDB adapter of the {@link AuditLog} port (official `mongodb` driver v7): collection
 * `audit_events`, `_id` = event id, the time as a BSON `Date` (`at`) under a TTL index, so the
 * server deletes events `retentionDays` after they happened without any job (MongoDB's TTL monitor
 * runs about once a minute, so expiry is approximate; `purgeOlderThan` is exact). A second index
 * serves `listForActor`.
 *
 * A MongoDB-compatible server without TTL indexes (FerretDB v1 answers `createIndexes` with
 * `expireAfterSeconds` by error 238 NotImplemented) gets a plain index on `at` instead, and
 * {@link MongoAuditLog.retention} reports `"purge_job"`: there, events are removed only by
 * `purgeOlderThan`, which the scheduled audit-retention job must call. The choice is made on the
 * server's answer to the index creation, never on its name.
 *
 * Shares the per-container `MongoClient` of the user store (one pool per URL). Every filter is
 * built here from checked strings and numbers, never from a caller object.
 *
 * Node-only.
 */
import { type Collection, type Db, type MongoClient, MongoServerError } from "mongodb";
import type { AuditEvent, AuditLog } from "../ports/audit";
import { assertAuditEvent, assertListLimit } from "./audit-event-guards";
import { acquireClient, releaseClient } from "./mongo-user-store";

/** The stored form of an {@link AuditEvent}. */
export interface AuditDoc {
  _id: string;
  /** Event time as a BSON Date: TTL indexes only expire Date fields. */
  at: Date;
  kind: string | null;
  action: string;
  outcome: string;
  actor: string | null;
  client: string | null;
  code: string | null;
  requestId: string | null;
  /** Occurrences of an aggregated event; absent on ordinary events (one). */
  count?: number;
}

/** Name of the collection. */
export const AUDIT_COLLECTION = "audit_events";
/** Name of the TTL index on `at`. */
export const AUDIT_TTL_INDEX = "audit_ttl";
/** Name of the plain index on `at`, created instead of the TTL index where the server has no TTL indexes. */
export const AUDIT_AT_INDEX = "audit_at";
const ACTOR_INDEX = "audit_actor";

/** MongoDB's error code for a feature the server does not implement (`NotImplemented`). */
const NOT_IMPLEMENTED = 238;

/**
 * Who removes expired events: `ttl_index` — the server, by the TTL index (MongoDB); `purge_job` —
 * nobody but a caller of {@link AuditLog.purgeOlderThan} (a server without TTL indexes, e.g.
 * FerretDB v1), so the scheduled audit-retention job is what enforces `AUDIT_RETENTION_DAYS`.
 */
export type AuditRetention = "ttl_index" | "purge_job";

/** The MongoDB {@link AuditLog}, which also tells how its retention is enforced. */
export interface MongoAuditLog extends AuditLog {
  /**
   * How expired events are removed on this server; creates the indexes first if needed.
   * @throws what the driver throws when the indexes cannot be created.
   */
  retention(): Promise<AuditRetention>;
}

/** Options of {@link createMongoAuditLog}. */
export interface MongoAuditLogOptions {
  /** Connection string (`MONGO_URL`); key of the shared per-container client cache. */
  url: string;
  dbName: string;
  /** Events expire this many days after `at` (TTL index `expireAfterSeconds`). */
  retentionDays: number;
  /** A client owned by the caller; when given, `close()` leaves it open. */
  client?: MongoClient;
}

/** Maps an event to its document. */
export function toAuditDoc(event: AuditEvent): AuditDoc {
  return {
    _id: event.id,
    at: new Date(event.atMs),
    kind: event.kind,
    action: event.action,
    outcome: event.outcome,
    actor: event.actor,
    client: event.client,
    code: event.code,
    requestId: event.requestId,
  };
}

/** Maps a stored document back to an event. */
export function fromAuditDoc(doc: AuditDoc): AuditEvent {
  return {
    id: doc._id,
    atMs: doc.at.getTime(),
    kind: doc.kind ?? null,
    action: doc.action as AuditEvent["action"],
    outcome: doc.outcome as AuditEvent["outcome"],
    actor: doc.actor ?? null,
    client: doc.client ?? null,
    code: doc.code ?? null,
    requestId: doc.requestId ?? null,
    ...(typeof doc.count === "number" && doc.count > 1 ? { count: doc.count } : {}),
  };
}

/**
 * Creates the indexes: the actor index, and the TTL index with `expireAfterSeconds` = retention. An
 * existing TTL index with another retention (the setting changed) is updated in place with `collMod`
 * instead of failing with IndexOptionsConflict (code 85). A server that answers the TTL index with
 * NotImplemented (238) gets a plain index on `at` (for `purgeOlderThan`) and `purge_job` retention.
 */
async function ensureIndexes(
  db: Db,
  collection: Collection<AuditDoc>,
  retentionSeconds: number,
): Promise<AuditRetention> {
  await collection.createIndex({ kind: 1, actor: 1, at: -1 }, { name: ACTOR_INDEX });
  try {
    await collection.createIndex({ at: 1 }, { name: AUDIT_TTL_INDEX, expireAfterSeconds: retentionSeconds });
  } catch (error) {
    if (!(error instanceof MongoServerError)) throw error;
    if (error.code === NOT_IMPLEMENTED) {
      await collection.createIndex({ at: 1 }, { name: AUDIT_AT_INDEX });
      return "purge_job";
    }
    if (error.code !== 85) throw error;
    await db.command({
      collMod: AUDIT_COLLECTION,
      index: { name: AUDIT_TTL_INDEX, expireAfterSeconds: retentionSeconds },
    });
  }
  return "ttl_index";
}

/**
 * Creates an {@link AuditLog} on MongoDB. Indexes are created once per container before the first
 * write (retried if that failed). `record` ignores a duplicate id (E11000). Driver faults propagate.
 * On a server without TTL indexes, see {@link MongoAuditLog.retention}.
 *
 * @throws RangeError when `retentionDays` is not a positive integer; Error for an empty url/dbName.
 */
export function createMongoAuditLog(opts: MongoAuditLogOptions): MongoAuditLog {
  if (!Number.isInteger(opts.retentionDays) || opts.retentionDays < 1) {
    throw new RangeError("retentionDays must be a positive integer");
  }
  if (opts.url === "" || opts.dbName === "") throw new Error("createMongoAuditLog needs a url and a dbName");
  const ownsClient = opts.client === undefined;
  const client = opts.client ?? acquireClient(opts.url);
  const db = client.db(opts.dbName);
  const collection = db.collection<AuditDoc>(AUDIT_COLLECTION);
  let ready: Promise<AuditRetention> | undefined;
  const indexes = () => {
    ready ??= ensureIndexes(db, collection, opts.retentionDays * 86_400).catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    return ready;
  };
  let closed = false;
  /** The last aggregated write of each id still running from this instance (see `recordAggregated`). */
  const aggregating = new Map<string, Promise<void>>();

  return {
    retention: indexes,

    async record(event) {
      assertAuditEvent(event);
      await indexes();
      try {
        await collection.insertOne(toAuditDoc(event));
      } catch (error) {
        if (error instanceof MongoServerError && error.code === 11000) return;
        throw error;
      }
    },

    async recordAggregated(event) {
      assertAuditEvent(event);
      await indexes();
      const { _id, ...fields } = toAuditDoc(event); // no count: $inc sets it
      const upsert = () =>
        collection.updateOne(
          { _id },
          { $setOnInsert: fields, $inc: { count: event.count ?? 1 } },
          { upsert: true },
        );
      const write = async () => {
        try {
          await upsert();
        } catch (error) {
          // Two first writes of one id raced (both tried to insert): the loser's retry now updates.
          if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
          await upsert();
        }
      };
      // One write per id at a time from this instance: MongoDB's $inc is atomic anyway, but
      // FerretDB v1 applies an update by reading and writing back the document, so concurrent
      // increments would be lost. Across instances on such a server the count is a lower bound.
      const previous = aggregating.get(_id) ?? Promise.resolve();
      const mine = previous.then(write, write);
      aggregating.set(_id, mine);
      try {
        await mine;
      } finally {
        if (aggregating.get(_id) === mine) aggregating.delete(_id);
      }
    },

    async listForActor(kind, actor, limit) {
      assertListLimit(limit);
      if (typeof kind !== "string" || typeof actor !== "string") {
        throw new TypeError("kind and actor must be strings");
      }
      const docs = await collection.find({ kind, actor }, { sort: { at: -1, _id: -1 }, limit }).toArray();
      return docs.map(fromAuditDoc);
    },

    async purgeOlderThan(epochMs) {
      if (!Number.isFinite(epochMs)) throw new TypeError("epochMs must be a finite number");
      const result = await collection.deleteMany({ at: { $lt: new Date(Math.trunc(epochMs)) } });
      return result.deletedCount;
    },

    async close() {
      if (closed) return;
      closed = true;
      if (ownsClient) await releaseClient(opts.url, client);
    },
  };
}
