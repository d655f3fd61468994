import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { MongoClient } from "mongodb";
import { afterAll, describe, expect, it } from "vitest";
import type { ClaimDoc } from "../../shared/adapters/mongo-update-claims";
import { claimsCollectionNameOf } from "../../shared/adapters/mongo-user-doc";
import { createMongoUserStore } from "../../shared/adapters/mongo-user-store";
import { CONTRACT_KINDS, makeRecord, runUserStoreContract } from "./user-store.contract";

const mongoUrl = process.env.MONGO_URL;

if (mongoUrl === undefined || mongoUrl === "") {
  const skipped = "MongoDB contract skipped: MONGO_URL not set";
  // Printed as well as registered, so a CI log shows the MongoDB adapter was not exercised.
  console.log(skipped);
  describe("UserStore contract: mongodb", () => {
    it.skip(skipped, () => {});
  });
} else {
  const url = mongoUrl;
  const runId = `${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const dbNames: string[] = [];

  afterAll(async () => {
    // Every test used its own database; drop them all with a client of our own.
    const admin = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 });
    try {
      for (const dbName of dbNames) await admin.db(dbName).dropDatabase();
    } finally {
      await admin.close();
    }
  });

  const freshDb = () => {
    const dbName = `contract_${runId}_${dbNames.length}`;
    dbNames.push(dbName);
    return dbName;
  };

  runUserStoreContract("mongodb", async () =>
    createMongoUserStore({ url, dbName: freshDb(), kinds: [...CONTRACT_KINDS], emailIndexPageSize: 64 }),
  );

  describe("mongo user store: update claims", () => {
    /** A store on a fresh database, with a record at version 1 and the claims collection of User1. */
    async function setUp() {
      const dbName = freshDb();
      const store = createMongoUserStore({ url, dbName, kinds: ["User1"] });
      const record = makeRecord();
      expect(await store.create("User1", record)).toEqual({ ok: true });
      const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 });
      const claims = client.db(dbName).collection<ClaimDoc>(claimsCollectionNameOf("User1"));
      const close = async () => {
        await store.close();
        await client.close();
      };
      return { store, record, claims, close };
    }

    it("refuses an update as conflict while another live updater holds its version transition", async () => {
      const { store, record, claims, close } = await setUp();
      try {
        await claims.insertOne({ _id: `${record.id}#2`, nonce: "live", expiresAtMs: Date.now() + 60_000 });
        expect(await store.update("User1", record.id, 1, { emailVerified: true })).toEqual({
          ok: false,
          code: "conflict",
        });
        expect(await store.findById("User1", record.id)).toStrictEqual(record);
      } finally {
        await close();
      }
    });

    it("takes over a transition claimed by a dead updater once its lease ran out, and releases its own claim", async () => {
      const { store, record, claims, close } = await setUp();
      try {
        await claims.insertOne({ _id: `${record.id}#2`, nonce: "dead", expiresAtMs: Date.now() - 1 });
        const result = await store.update("User1", record.id, 1, { emailVerified: true });
        expect(result.ok && result.record.version).toBe(2);
        expect(result.ok && result.record.emailVerified).toBe(true);
        // The dead claim stays (harmless: version 2 exists now); the successor claim was released.
        expect((await claims.find({}).toArray()).map((c) => c._id)).toEqual([`${record.id}#2`]);
        const next = await store.update("User1", record.id, 2, { phoneVerified: false });
        expect(next.ok && next.record.version).toBe(3);
        expect(await claims.countDocuments({ _id: `${record.id}#3` })).toBe(0);
      } finally {
        await close();
      }
    });
  });
}

/** A local port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("mongo user store without a reachable server", () => {
  it("reports an unreachable server as a rejected ping and a thrown lookup, never as 'not found'", async () => {
    const url = `mongodb://127.0.0.1:${await closedPort()}`;
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 150 });
    const store = createMongoUserStore({ url, dbName: "none", kinds: ["User1"], client });
    try {
      await expect(store.ping()).rejects.toThrow();
      await expect(store.findById("User1", "usr_x")).rejects.toThrow();
    } finally {
      await store.close();
      await client.close();
    }
  });

  it("refuses unsafe kinds at construction", () => {
    for (const kinds of [["users.$cmd"], ["User1", "USER1"], []]) {
      expect(() => createMongoUserStore({ url: "mongodb://127.0.0.1:1", dbName: "x", kinds })).toThrow(
        /kind/,
      );
    }
  });
});
