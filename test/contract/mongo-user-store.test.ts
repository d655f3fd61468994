import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { MongoClient } from "mongodb";
import { afterAll, describe, expect, it } from "vitest";
import { createMongoUserStore } from "../../shared/adapters/mongo-user-store";
import { CONTRACT_KINDS, runUserStoreContract } from "./user-store.contract";

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

  runUserStoreContract("mongodb", async () => {
    const dbName = `contract_${runId}_${dbNames.length}`;
    dbNames.push(dbName);
    return createMongoUserStore({ url, dbName, kinds: [...CONTRACT_KINDS], emailIndexPageSize: 64 });
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
