import { randomBytes } from "node:crypto";
import { MongoClient, MongoServerError } from "mongodb";
import { afterAll, describe, expect, it } from "vitest";
import {
  AUDIT_AT_INDEX,
  AUDIT_COLLECTION,
  AUDIT_TTL_INDEX,
  createMongoAuditLog,
  fromAuditDoc,
  toAuditDoc,
} from "../../shared/adapters/mongo-audit-log";
import { makeEvent, runAuditLogContract } from "./audit-log.contract";

const mongoUrl = process.env.MONGO_URL;

describe("mongo audit documents", () => {
  it("store the event time as a BSON Date (what a TTL index expires) and map back losslessly", () => {
    const event = makeEvent({ kind: null, code: null });
    const doc = toAuditDoc(event);
    expect(doc.at).toBeInstanceOf(Date);
    expect(doc.at.getTime()).toBe(event.atMs);
    expect(doc._id).toBe(event.id);
    expect(fromAuditDoc(doc)).toEqual(event);
  });
});

if (mongoUrl === undefined || mongoUrl === "") {
  const skipped = "MongoDB audit-log contract skipped: MONGO_URL not set";
  // Printed as well as registered, so a CI log shows the MongoDB adapter was not exercised.
  console.log(skipped);
  describe("AuditLog contract: mongodb", () => {
    it.skip(skipped, () => {});
  });
} else {
  const url = mongoUrl;
  const runId = `${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const dbNames: string[] = [];
  const freshDb = () => {
    const name = `audit_${runId}_${dbNames.length}`;
    dbNames.push(name);
    return name;
  };

  afterAll(async () => {
    const admin = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 });
    try {
      for (const dbName of dbNames) await admin.db(dbName).dropDatabase();
    } finally {
      await admin.close();
    }
  });

  runAuditLogContract("mongodb", async () =>
    createMongoAuditLog({ url, dbName: freshDb(), retentionDays: 3650 }),
  );

  /** Asks the server itself whether it builds TTL indexes, on a scratch collection of this test. */
  async function serverHasTtlIndexes(dbName: string): Promise<boolean> {
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 });
    try {
      await client.db(dbName).collection("ttl_probe").createIndex({ t: 1 }, { expireAfterSeconds: 60 });
      return true;
    } catch (error) {
      if (error instanceof MongoServerError && error.code === 238) return false;
      throw error;
    } finally {
      await client.close();
    }
  }

  async function indexesOf(dbName: string) {
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 });
    try {
      return await client.db(dbName).collection(AUDIT_COLLECTION).indexes();
    } finally {
      await client.close();
    }
  }

  describe("mongo audit log specifics", () => {
    it("reports the retention this server gives it: a TTL index where there are TTL indexes, else the purge job", async () => {
      const dbName = freshDb();
      const ttl = await serverHasTtlIndexes(dbName);
      const log = createMongoAuditLog({ url, dbName, retentionDays: 90 });
      try {
        expect(await log.retention()).toBe(ttl ? "ttl_index" : "purge_job");
      } finally {
        await log.close();
      }
      const indexes = await indexesOf(dbName);
      const byName = (name: string) => indexes.find((i) => i.name === name);
      if (ttl) {
        expect(byName(AUDIT_TTL_INDEX)?.expireAfterSeconds).toBe(90 * 86_400);
        expect(byName(AUDIT_AT_INDEX)).toBeUndefined();
      } else {
        // No TTL: a plain index on the event time serves purgeOlderThan, which the job calls.
        expect(byName(AUDIT_AT_INDEX)?.key).toEqual({ at: 1 });
        expect(byName(AUDIT_AT_INDEX)?.expireAfterSeconds).toBeUndefined();
        expect(byName(AUDIT_TTL_INDEX)).toBeUndefined();
      }
    });

    it("follows a changed retention in the TTL index (servers with TTL indexes)", async (ctx) => {
      const dbName = freshDb();
      if (!(await serverHasTtlIndexes(dbName))) {
        ctx.skip("this server has no TTL indexes: retention is the purge job's (see the test above)");
      }
      const first = createMongoAuditLog({ url, dbName, retentionDays: 90 });
      await first.record(makeEvent());
      await first.close();
      const second = createMongoAuditLog({ url, dbName, retentionDays: 30 });
      await second.record(makeEvent());
      await second.close();
      const ttl = (await indexesOf(dbName)).find((i) => i.name === AUDIT_TTL_INDEX);
      expect(ttl?.key).toEqual({ at: 1 });
      expect(ttl?.expireAfterSeconds).toBe(30 * 86_400);
    });
  });
}
