import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { confirmVerificationLink } from "../fixtures/accounts";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { apiClient, startTestServer, type TestServer } from "../helpers/local-server";

/**
 * The account flows end to end over real HTTP against the local runtime with the MongoDB adapters
 * (users and audit trail) on the server `MONGO_URL` names — FerretDB in CI (`scripts/ferretdb.sh`),
 * any MongoDB otherwise — instead of the SQLite file every other e2e file uses. Each run works in a
 * database of its own, dropped at the end. Skipped, saying so, when `MONGO_URL` is not set.
 */
// Read before the test server starts: it removes the shell's cloud settings from process.env.
const mongoUrl = process.env.MONGO_URL;

if (mongoUrl === undefined || mongoUrl === "") {
  const skipped = "MongoDB end-to-end account flows skipped: MONGO_URL not set";
  // Printed as well as registered, so a CI log shows the MongoDB adapter was not exercised.
  console.log(skipped);
  describe("account flows on MongoDB", () => {
    it.skip(skipped, () => {});
  });
} else {
  const url = mongoUrl;
  const dbName = `e2e_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const PASSWORD = "Tr0ub4dor&3-horse-Battery";
  const NEW_PASSWORD = "Correct-Staple-Orbit-7319";
  let server: TestServer;
  let api: ReturnType<typeof apiClient>;
  let mongo: MongoClient;
  let counter = 0;
  const email = () => `ada.${dbName}.${counter++}@example.com`;
  const users = (kind: string) => mongo.db(dbName).collection(`users_${kind}`);

  beforeAll(async () => {
    mongo = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 });
    server = await startTestServer({ MONGO_URL: url, MONGO_DB: dbName, RATE_LIMITS: GENEROUS_RATE_LIMITS });
    api = apiClient(server.url);
  });
  afterAll(async () => {
    await server?.stop();
    try {
      await mongo?.db(dbName).dropDatabase();
    } finally {
      await mongo?.close();
    }
  });

  const login = (kind: string, username: string, password: string) =>
    api.request("POST", `/${kind}/login`, { form: { username, password } });

  async function register(kind: string, address: string, password = PASSWORD) {
    return api.request("POST", `/${kind}/create`, {
      json: {
        first_name: "Ada",
        last_name: "Lovelace",
        email: address,
        phone: "+14155552671",
        country_code: "US",
        password,
      },
    });
  }

  async function verifyLinkOf(kind: string, address: string) {
    const mail = await server.waitForEmail(address, (e) =>
      e.links.some((l) => l.includes(`/${kind}/verify?token=`)),
    );
    return mail.links.find((l) => l.includes(`/${kind}/verify?token=`)) as string;
  }

  describe("account flows on MongoDB", () => {
    it("registers, verifies, logs in, updates, resets the password and deletes, with every record in MongoDB", async () => {
      const kind = "User1";
      const address = email();
      const created = await register(kind, address);
      expect(created.status, created.text).toBe(201);
      const id = created.json.id as string;

      // The record is in MongoDB, encrypted; no SQLite user file was opened.
      const stored = await users(kind).findOne({ _id: id as never });
      expect(stored).not.toBeNull();
      expect(JSON.stringify(stored)).not.toContain(address);
      expect(stored?.version).toBe(1);
      expect(stored?.emailVerified).toBe(false);
      expect(existsSync(join(server.dataDir, "users.sqlite"))).toBe(false);

      expect((await login(kind, address, PASSWORD)).json.code).toBe("email_not_verified");
      const verified = await confirmVerificationLink(server, await verifyLinkOf(kind, address));
      expect(verified.status).toBe(200);
      expect((await users(kind).findOne({ _id: id as never }))?.emailVerified).toBe(true);

      const session = await login(kind, address, PASSWORD);
      expect(session.status, session.text).toBe(200);
      const token = session.json.access_token as string;

      const updated = await api.request("PUT", `/${kind}/update`, {
        token,
        json: { first_name: "Augusta", phone: "+442071838750", country_code: "GB" },
      });
      expect(updated.status, updated.text).toBe(200);
      expect(updated.json).toMatchObject({ first_name: "Augusta", country: "GB", phone_verified: false });
      const profile = await api.request("GET", `/${kind}/`, { token });
      expect(profile.json).toMatchObject({
        id,
        first_name: "Augusta",
        email: address,
        is_email_verified: true,
      });
      const afterUpdate = await users(kind).findOne({ _id: id as never });
      expect(afterUpdate?.version).toBeGreaterThan(2);
      expect(afterUpdate?.countryCode).toBe("GB");

      const forget = await api.request("POST", `/${kind}/forget_password`, { json: { email: address } });
      expect(forget.status).toBe(200);
      const resetMail = await server.waitForEmail(address, (e) =>
        e.links.some((l) => l.includes("/reset_password_form?token=")),
      );
      const resetLink = resetMail.links.find((l) => l.includes("/reset_password_form?token=")) as string;
      const resetToken = new URL(resetLink).searchParams.get("token") as string;
      const reset = await api.request("POST", `/${kind}/reset_password`, {
        json: { token: resetToken, password: NEW_PASSWORD },
      });
      expect(reset.status, reset.text).toBe(200);
      expect((await login(kind, address, PASSWORD)).status).toBe(401);
      expect((await api.request("GET", `/${kind}/`, { token })).json.code).toBe("token_revoked");
      const fresh = await login(kind, address, NEW_PASSWORD);
      expect(fresh.status, fresh.text).toBe(200);

      const deleted = await api.request("DELETE", `/${kind}/delete`, {
        token: fresh.json.access_token as string,
        json: { password: NEW_PASSWORD },
      });
      expect(deleted.status, deleted.text).toBe(200);
      expect(await users(kind).findOne({ _id: id as never })).toBeNull();
      expect((await login(kind, address, NEW_PASSWORD)).json.code).toBe("invalid_credentials");
      // The address is free again.
      expect((await register(kind, address)).status).toBe(201);

      // The audit trail went to MongoDB too.
      const actions = await mongo
        .db(dbName)
        .collection("audit_events")
        .distinct("action", { kind, actor: id });
      expect(actions).toEqual(
        expect.arrayContaining([
          "verify_email",
          "login",
          "profile_update",
          "password_reset",
          "account_delete",
        ]),
      );
    });

    it("stores one account when the same email registers several times at once: one password logs in", async () => {
      const kind = "User2";
      const address = email();
      const passwords = Array.from({ length: 5 }, (_, i) => `${PASSWORD}-${i}`);
      const answers = await Promise.all(passwords.map((password) => register(kind, address, password)));
      // Every answer is the same, whoever won (no enumeration through a race either).
      expect(answers.map((a) => a.status)).toEqual(passwords.map(() => 201));
      const emailIndexes = await users(kind).distinct("emailIndex");
      expect(emailIndexes).toHaveLength(1);
      expect(await users(kind).countDocuments({ emailIndex: emailIndexes[0] })).toBe(1);

      expect((await confirmVerificationLink(server, await verifyLinkOf(kind, address))).status).toBe(200);
      const logins = await Promise.all(passwords.map((password) => login(kind, address, password)));
      expect(logins.map((l) => l.status).sort()).toEqual([200, 401, 401, 401, 401]);
    });
  });
}
