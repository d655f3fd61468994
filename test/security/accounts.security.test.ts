import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { confirmVerificationLink } from "../fixtures/accounts";
import { startTestApp, type TestApp } from "../fixtures/context";
import { apiClient, send } from "../helpers/api-client";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";

/**
 * DESIGN.md §9 rules that register, verify, login, profile, update, logout and delete touch, in
 * process: every function's `createApp(ctx)` on one test context (real redis-server behind the
 * Upstash bridge, SQLite file, capturing notifier). A use-case awaits its publish before it
 * answers, so the mail a request sent is in the notifier when its response is here.
 */
let app: TestApp;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMITS: GENEROUS_RATE_LIMITS, BODY_LIMIT_BYTES: "4096" });
  api = apiClient(app);
});
afterAll(async () => {
  await app?.stop();
});

const PASSWORD = "Tr0ub4dor&3-horse-Battery";
let counter = 0;
const newUser = (overrides: Record<string, unknown> = {}) => ({
  first_name: "Ada",
  last_name: "Lovelace",
  email: `ada.${Date.now()}.${counter++}@example.com`,
  phone: "+14155552671",
  country_code: "US",
  password: PASSWORD,
  ...overrides,
});

/** Registers, verifies and logs in; returns the user and an access token. */
async function activeUser(kind = "User1") {
  const user = newUser();
  expect((await api.request("POST", `/${kind}/create`, { json: user })).status).toBe(201);
  const mail = await app.waitForEmail(user.email, (e) => e.links.some((l) => l.includes("/verify?token=")));
  expect(
    (await confirmVerificationLink(app, mail.links.find((l) => l.includes("/verify?token=")) as string))
      .status,
  ).toBe(200);
  const login = await api.request("POST", `/${kind}/login`, {
    form: { username: user.email, password: PASSWORD },
  });
  expect(login.status).toBe(200);
  return { user, token: login.json.access_token as string };
}

/** A problem body without the parts that differ per request. */
const shape = (body: Record<string, unknown>) => {
  const { request_id: _id, ...rest } = body;
  return rest;
};

describe("registration does not reveal whether an email is registered", () => {
  it("answers a second registration of an existing email exactly like a new one and mails the owner instead", async () => {
    const user = newUser();
    const first = await api.request("POST", "/User1/create", { json: user });
    const second = await api.request("POST", "/User1/create", {
      json: { ...user, email: user.email.toUpperCase(), first_name: "Mallory" },
    });
    expect(second.status).toBe(first.status);
    expect(Object.keys(second.json).sort()).toEqual(Object.keys(first.json).sort());
    expect(second.json.id).not.toBe(first.json.id);
    const attempt = await app.waitForEmail(user.email, (e) => /sign.?up|tried/i.test(e.subject));
    expect(attempt.text).not.toContain("Mallory");
    // Exactly one verification email for that address.
    await app.waitForEmail(user.email, (e) => e.links.some((l) => l.includes("/verify?token=")));
    expect(
      (await app.notifier.emails()).filter(
        (e) => e.to === user.email && e.links.some((l) => l.includes("/verify?token=")),
      ).length,
    ).toBe(1);
  });

  it("creates exactly one account from concurrent registrations of one email", async () => {
    const user = newUser();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => api.request("POST", "/User1/create", { json: user })),
    );
    for (const r of results) expect(r.status).toBe(201);
    await app.waitForEmail(user.email, (e) => e.links.some((l) => l.includes("/verify?token=")));
    // No grace period needed: every publish finished before its response came back.
    const verifications = (await app.notifier.emails()).filter(
      (e) => e.to === user.email && e.links.some((l) => l.includes("/verify?token=")),
    );
    expect(verifications.length).toBe(1);
  });
});

describe("login does not reveal whether an email is registered", () => {
  it("answers an unknown email and a wrong password with the same status and body", async () => {
    const { user } = await activeUser();
    const wrong = await api.request("POST", "/User1/login", {
      form: { username: user.email, password: "wrong-password-123" },
    });
    const unknown = await api.request("POST", "/User1/login", {
      form: { username: `nobody.${Date.now()}@example.com`, password: "wrong-password-123" },
    });
    const garbage = await api.request("POST", "/User1/login", {
      form: { username: "not-an-email", password: "x" },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(garbage.status).toBe(401);
    expect(shape(unknown.json)).toEqual(shape(wrong.json));
    expect(shape(garbage.json)).toEqual(shape(wrong.json));
    expect(unknown.headers.get("www-authenticate")).toBe(wrong.headers.get("www-authenticate"));
  });

  it("says email_not_verified only after a correct password", async () => {
    const user = newUser();
    await api.request("POST", "/User1/create", { json: user });
    const wrong = await api.request("POST", "/User1/login", {
      form: { username: user.email, password: "nope-nope-nope" },
    });
    expect(wrong.status).toBe(401);
    const right = await api.request("POST", "/User1/login", {
      form: { username: user.email, password: PASSWORD },
    });
    expect(right.status).toBe(403);
    expect(right.json.code).toBe("email_not_verified");
  });
});

describe("acting on the token's subject only", () => {
  it("never serves another user's profile through an id parameter", async () => {
    const alice = await activeUser();
    const bob = await activeUser();
    const bobProfile = await api.request("GET", "/User1/", { token: bob.token });
    const res = await api.request("GET", `/User1/?id=${bobProfile.json.id}`, { token: alice.token });
    expect(res.status).toBe(200);
    expect(res.json.email).toBe(alice.user.email);
    expect(res.text).not.toContain(bob.user.email);
  });

  it("refuses an id in the update body and never updates another user", async () => {
    const alice = await activeUser();
    const bob = await activeUser();
    const bobId = (await api.request("GET", "/User1/", { token: bob.token })).json.id;
    const res = await api.request("PUT", "/User1/update", {
      token: alice.token,
      json: { id: bobId, first_name: "Hacked" },
    });
    expect(res.status).toBe(422);
    expect((await api.request("GET", "/User1/", { token: bob.token })).json.first_name).toBe("Ada");
  });

  it("requires a bearer token (401 with WWW-Authenticate: Bearer) on every authenticated route", async () => {
    for (const [method, path] of [
      ["GET", "/User1/"],
      ["PUT", "/User1/update"],
      ["GET", "/User1/logout"],
      ["POST", "/User1/logout"],
      ["DELETE", "/User1/delete"],
    ] as const) {
      const res = await api.request(method, path, { json: method === "GET" ? undefined : {} });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);
    }
    const forged = await api.request("GET", "/User1/", { token: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0." });
    expect(forged.status).toBe(401);
  });
});

describe("clients cannot set protected fields or inject operators", () => {
  it.each([["id"], ["email_verified"], ["phone_verified"], ["password_hash"], ["role"]])(
    "rejects registration carrying %s with 422",
    async (field) => {
      const res = await api.request("POST", "/User1/create", {
        json: { ...newUser(), [field]: field === "id" ? "usr_x" : true },
      });
      expect(res.status).toBe(422);
      expect(res.json.code).toBe("validation_failed");
      expect(JSON.stringify(res.json.errors)).toContain(field);
    },
  );

  it.each(["first_name", "last_name", "email", "phone", "country_code", "password"])(
    "rejects a MongoDB operator object in %s with 422",
    async (field) => {
      const res = await api.request("POST", "/User1/create", {
        json: { ...newUser(), [field]: { $ne: null } },
      });
      expect(res.status).toBe(422);
      expect((res.json.errors as { field: string }[]).map((e) => e.field)).toContain(field);
    },
  );

  it("rejects operator objects in login fields (JSON) with 422, never a lookup", async () => {
    const res = await api.request("POST", "/User1/login", {
      json: { username: { $gt: "" }, password: { $ne: null } },
    });
    expect(res.status).toBe(422);
  });
});

describe("bad input never causes a 500", () => {
  it.each([
    {
      name: "malformed JSON",
      init: { headers: { "content-type": "application/json" }, body: "{not json" },
      status: 400,
    },
    {
      name: "a JSON array",
      init: { headers: { "content-type": "application/json" }, body: "[]" },
      status: 422,
    },
    {
      name: "JSON null",
      init: { headers: { "content-type": "application/json" }, body: "null" },
      status: 422,
    },
    { name: "text/plain", init: { headers: { "content-type": "text/plain" }, body: "hello" }, status: 415 },
    { name: "no body", init: { headers: {} as Record<string, string>, body: undefined }, status: 422 },
    {
      name: "a body over the limit",
      init: {
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ first_name: "x".repeat(8000) }),
      },
      status: 413,
    },
    {
      name: "a huge number",
      init: { headers: { "content-type": "application/json" }, body: '{"email": 1e999}' },
      status: 422,
    },
  ])("registration with $name gets a problem+json $status", async ({ init, status }) => {
    const res = await send(app, "/User1/create", { method: "POST", ...init });
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(typeof body.code).toBe("string");
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts|Error:|SyntaxError|stack/);
  });

  it("rejects weak passwords with 422 and says why, without echoing the password", async () => {
    const res = await api.request("POST", "/User1/create", { json: newUser({ password: "password123" }) });
    expect(res.status).toBe(422);
    expect(res.json.code).toBe("weak_password");
    expect((res.json.errors as unknown[]).length).toBeGreaterThan(0);
    expect(res.text).not.toContain("password123");
  });

  it("refuses an oversize password before hashing", async () => {
    const res = await api.request("POST", "/User1/login", {
      form: { username: "a@example.com", password: "é".repeat(200) },
    });
    expect(res.status).toBe(422);
    expect(res.json.code).toBe("password_too_long");
  });

  it("answers unknown routes with a problem+json 404", async () => {
    const res = await api.request("GET", "/User1/nope");
    expect(res.status).toBe(404);
    expect(res.json.code).toBe("not_found");
  });
});

describe("a login lock is temporary", () => {
  // Last in the file: it moves the shared clock forward, which only ever moves forward.
  it("refuses even the right password while locked, and accepts it once the lock's delay has passed", async () => {
    const { user } = await activeUser();
    for (let i = 0; i < 5; i++) {
      const wrong = await api.request("POST", "/User1/login", {
        form: { username: user.email, password: "wrong-password-123" },
      });
      expect(wrong.status).toBe(401);
    }
    const locked = await api.request("POST", "/User1/login", {
      form: { username: user.email, password: PASSWORD },
    });
    expect(locked.status).toBe(429);
    expect(locked.json.code).toBe("too_many_attempts");
    const retryAfter = Number(locked.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    // The lock's end is read from the clock the use-case is given: move it instead of waiting.
    app.clock.advanceSeconds(retryAfter - 1);
    const stillLocked = await api.request("POST", "/User1/login", {
      form: { username: user.email, password: PASSWORD },
    });
    expect(stillLocked.status).toBe(429);
    app.clock.advanceSeconds(1);
    const unlocked = await api.request("POST", "/User1/login", {
      form: { username: user.email, password: PASSWORD },
    });
    expect(unlocked.status, unlocked.text).toBe(200);
  });
});
