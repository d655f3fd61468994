import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { confirmVerificationLink } from "../fixtures/accounts";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { apiClient, startTestServer, type TestServer } from "../helpers/local-server";
import { createTestUpstashClient } from "../helpers/redis";

/**
 * The main job, end to end over real HTTP against the local runtime (real SQLite file, real Redis
 * behind the Upstash bridge, QStash emulator delivering signed messages to the email function,
 * Resend capture): the seed's own example user, for every kind.
 */
let server: TestServer;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMITS: GENEROUS_RATE_LIMITS });
  api = apiClient(server.url);
});
afterAll(async () => {
  await server?.stop();
});

const PASSWORD = "Tr0ub4dor&3-horse-Battery";
const NEW_PASSWORD_UNUSED = "never-used";
const john = (kind: string) => ({
  first_name: "John",
  last_name: "Doe",
  email: `john.doe.${kind.toLowerCase()}@example.com`,
  phone: "+14155552671",
  country_code: "US",
  password: PASSWORD,
});

async function registerAndVerify(kind: string, user = john(kind)) {
  const created = await api.request("POST", `/${kind}/create`, { json: user });
  expect(created.status, created.text).toBe(201);
  const mail = await server.waitForEmail(user.email, (e) =>
    e.links.some((l) => l.includes(`/${kind}/verify?token=`)),
  );
  const link = mail.links.find((l) => l.includes(`/${kind}/verify?token=`)) as string;
  return { created, link };
}

describe.each(["User1", "User2"])("account lifecycle for %s", (kind) => {
  const user = john(kind);
  let firstToken = "";

  it("registers, verifies by the mailed link, logs in, reads and updates the profile, logs out, and deletes", async () => {
    const { created, link } = await registerAndVerify(kind, user);
    expect(created.json).toMatchObject({ message: "User created successfully", email: "[ENCRYPTED]" });
    expect(created.json.id).toMatch(/^usr_[A-Za-z0-9_-]{22,}$/);
    expect(link.startsWith(`${server.url}/${kind}/verify?token=`)).toBe(true);

    // Before verification, the right password gets 403 email_not_verified.
    const early = await api.request("POST", `/${kind}/login`, {
      form: { username: user.email, password: PASSWORD },
    });
    expect(early.status).toBe(403);
    expect(early.json.code).toBe("email_not_verified");

    // The link opens a confirmation page; its form posts the token (same origin), which verifies.
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(await page.text()).toContain(`<form method="post" action="${server.url}/${kind}/verify">`);
    const linkToken = new URL(link).searchParams.get("token") as string;
    const verified = await fetch(`${server.url}/${kind}/verify`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url },
      body: new URLSearchParams({ token: linkToken }).toString(),
    });
    expect(verified.status).toBe(200);
    expect(verified.headers.get("content-type")).toMatch(/text\/html/);
    expect(await verified.text()).toContain("Email verified");
    const reused = await confirmVerificationLink(server, link);
    expect(reused.status).toBe(400);
    expect(((await reused.json()) as { code: string }).code).toBe("invalid_or_expired_token");

    const login = await api.request("POST", `/${kind}/login`, {
      form: { username: user.email, password: PASSWORD },
    });
    expect(login.status, login.text).toBe(200);
    expect(login.json).toMatchObject({ token_type: "bearer", expires_in: 1800 });
    firstToken = login.json.access_token as string;

    const profile = await api.request("GET", `/${kind}/`, { token: firstToken });
    expect(profile.status).toBe(200);
    expect(profile.json).toMatchObject({
      id: created.json.id,
      first_name: "John",
      last_name: "Doe",
      email: user.email,
      phone: "+14155552671",
      country_code: "US",
      country: "US",
      is_email_verified: true,
      phone_verified: false,
    });
    expect(profile.text).not.toMatch(/argon2|password/i);

    const updated = await api.request("PUT", `/${kind}/update`, {
      token: firstToken,
      json: { first_name: "Johnny", phone: "+442071838750", country_code: "GB" },
    });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.json).toMatchObject({
      first_name: "Johnny",
      phone: "+442071838750",
      country: "GB",
      country_code: "GB",
      phone_verified: false,
    });
    const reread = await api.request("GET", `/${kind}/`, { token: firstToken });
    expect(reread.json.first_name).toBe("Johnny");

    const logout = await api.request("POST", `/${kind}/logout`, { token: firstToken });
    expect(logout.status).toBe(200);
    const afterLogout = await api.request("GET", `/${kind}/`, { token: firstToken });
    expect(afterLogout.status).toBe(401);
    expect(afterLogout.json.code).toBe("token_revoked");
    expect(afterLogout.headers.get("www-authenticate")).toMatch(/^Bearer/);

    const again = await api.request("POST", `/${kind}/login`, {
      json: { username: user.email, password: PASSWORD },
    });
    expect(again.status).toBe(200);
    const token = again.json.access_token as string;

    const wrongDelete = await api.request("DELETE", `/${kind}/delete`, {
      token,
      json: { password: NEW_PASSWORD_UNUSED },
    });
    expect(wrongDelete.status).toBe(403);
    const deleted = await api.request("DELETE", `/${kind}/delete`, { token, json: { password: PASSWORD } });
    expect(deleted.status, deleted.text).toBe(200);
    await server.waitForEmail(user.email, (e) => /deleted/i.test(e.subject));

    const afterDelete = await api.request("POST", `/${kind}/login`, {
      form: { username: user.email, password: PASSWORD },
    });
    expect(afterDelete.status).toBe(401);
    expect(afterDelete.json.code).toBe("invalid_credentials");
    const tokenAfterDelete = await api.request("GET", `/${kind}/`, { token });
    expect(tokenAfterDelete.status).toBe(401);
  });
});

describe("user kinds are separate pools", () => {
  it("rejects a User1 token on every authenticated User2 endpoint with 401", async () => {
    const user = { ...john("User1"), email: "cross.kind@example.com" };
    const { link } = await registerAndVerify("User1", user);
    expect((await confirmVerificationLink(server, link)).status).toBe(200);
    const login = await api.request("POST", "/User1/login", {
      form: { username: user.email, password: PASSWORD },
    });
    const token = login.json.access_token as string;
    expect((await api.request("GET", "/User1/", { token })).status).toBe(200);
    const attempts = [
      await api.request("GET", "/User2/", { token }),
      await api.request("PUT", "/User2/update", { token, json: { first_name: "X" } }),
      await api.request("POST", "/User2/logout", { token }),
      await api.request("GET", "/User2/logout", { token }),
      await api.request("DELETE", "/User2/delete", { token, json: { password: PASSWORD } }),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(401);
      expect(res.json.code).toBe("invalid_token");
    }
    // The same email in User2 is a different account: its login is unknown there.
    const other = await api.request("POST", "/User2/login", {
      form: { username: user.email, password: PASSWORD },
    });
    expect(other.status).toBe(401);
  });
});

describe("personal data at rest", () => {
  it("keeps no email, name or phone in clear in the SQLite files or any Redis value", async () => {
    const user = {
      ...john("User1"),
      email: "plain.text.canary@example.com",
      first_name: "Zebulon",
      last_name: "Quixotic",
      phone: "+14155550199",
    };
    const { link } = await registerAndVerify("User1", user);
    expect((await confirmVerificationLink(server, link)).status).toBe(200);
    const login = await api.request("POST", "/User1/login", {
      form: { username: user.email, password: PASSWORD },
    });
    await api.request("GET", "/User1/", { token: login.json.access_token as string }); // fills the profile cache

    const needles = [
      user.email,
      "plain.text.canary",
      user.first_name,
      user.last_name,
      user.phone,
      "4155550199",
    ];
    for (const file of readdirSync(server.dataDir)) {
      if (!file.startsWith("users")) continue;
      const bytes = readFileSync(join(server.dataDir, file)).toString("latin1");
      for (const needle of needles) expect(bytes.includes(needle), `${needle} in ${file}`).toBe(false);
    }
    expect(readdirSync(server.dataDir).some((f) => f.startsWith("users"))).toBe(true);

    const redis = createTestUpstashClient(
      {
        restUrl: process.env.UPSTASH_REDIS_REST_URL as string,
        restToken: process.env.UPSTASH_REDIS_REST_TOKEN as string,
      },
      { automaticDeserialization: false },
    );
    let cursor = "0";
    let scanned = 0;
    do {
      const [next, keys] = await redis.scan(cursor, { count: 500 });
      cursor = String(next);
      for (const key of keys) {
        scanned++;
        for (const needle of needles) expect(key.includes(needle), `key ${key}`).toBe(false);
        const type = await redis.type(key);
        const value =
          type === "string"
            ? String(await redis.get(key))
            : type === "hash"
              ? JSON.stringify(await redis.hgetall(key))
              : type === "zset"
                ? JSON.stringify(await redis.zrange(key, 0, -1))
                : "";
        for (const needle of needles) expect(value.includes(needle), `${needle} in Redis ${key}`).toBe(false);
      }
    } while (cursor !== "0");
    expect(scanned).toBeGreaterThan(0);
  });
});
