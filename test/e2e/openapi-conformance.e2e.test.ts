import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { totpCode } from "../../shared/crypto/totp";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { type ApiRequestInit, apiClient, startTestServer, type TestServer } from "../helpers/local-server";
import { createOpenApiValidator, type OpenApiDoc, type RecordedResponse } from "../helpers/openapi-validator";

/**
 * The API answers as its OpenAPI document says: the main flows are driven over real HTTP against
 * the local runtime, and every response (status, content type, body) is checked against the
 * document the server itself serves at `/openapi.json`. A status the document does not list for
 * that operation is a failure, as is a body that does not validate against the documented schema.
 */
let server: TestServer;
let validator: ReturnType<typeof createOpenApiValidator>;
const recorded: RecordedResponse[] = [];

/** The verify policy is tight (3 per minute) so a 429 is cheap to provoke; everything else is generous. */
// A long window: a burst cannot straddle a window boundary (the sliding window would skip a step).
const RATE_LIMITS = GENEROUS_RATE_LIMITS.replace("verify=10000/60", "verify=3/1000000");

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMITS });
  const res = await fetch(`${server.url}/openapi.json`);
  validator = createOpenApiValidator((await res.json()) as OpenApiDoc);
});
afterAll(async () => {
  await server?.stop();
});
afterEach(() => {
  const problems = recorded.flatMap((r) => validator.checkResponse(r));
  recorded.length = 0;
  expect(problems).toEqual([]);
});

/** Sends a request (the shared test client) and records the exchange for the conformance check (run after each test). */
async function call(method: string, pathAndQuery: string, init: ApiRequestInit = {}) {
  const res = await apiClient(server.url).request(method, pathAndQuery, init);
  const path = new URL(pathAndQuery, server.url).pathname;
  recorded.push({
    method,
    path,
    status: res.status,
    contentType: res.headers.get("content-type"),
    text: res.text,
  });
  return res;
}

const PASSWORD = "Tr0ub4dor&3-horse-Battery";
const user = {
  first_name: "Ada",
  last_name: "Lovelace",
  email: "ada.conformance@example.com",
  phone: "+14155552671",
  country_code: "US",
  password: PASSWORD,
};

describe("responses conform to the OpenAPI document", () => {
  it("register → verify → login → profile → update → logout, every response as documented", async () => {
    expect((await call("POST", "/User1/create", { json: user })).status).toBe(201);
    const mail = await server.waitForEmail(user.email, (e) =>
      e.links.some((l) => l.includes("/User1/verify?")),
    );
    const link = new URL(mail.links.find((l) => l.includes("/User1/verify?")) as string);

    const early = await call("POST", "/User1/login", { form: { username: user.email, password: PASSWORD } });
    expect(early.status).toBe(403);

    const page = await call("GET", `${link.pathname}${link.search}`, { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const linkToken = { token: link.searchParams.get("token") };
    const verified = await call("POST", link.pathname, { json: linkToken });
    expect(verified.status).toBe(200);
    const reused = await call("POST", link.pathname, { json: linkToken });
    expect(reused.status).toBe(400);

    const login = await call("POST", "/User1/login", { form: { username: user.email, password: PASSWORD } });
    expect(login.status).toBe(200);
    const token = login.json.access_token as string;
    const jsonLogin = await call("POST", "/User1/login", {
      json: { username: user.email, password: PASSWORD },
    });
    expect(jsonLogin.status).toBe(200);

    expect((await call("GET", "/User1/", { token })).status).toBe(200);
    const updated = await call("PUT", "/User1/update", {
      token,
      json: { first_name: "Augusta", country_code: "GB" },
    });
    expect(updated.status).toBe(200);
    expect(updated.json.first_name).toBe("Augusta");
    expect((await call("POST", "/User1/logout", { token })).status).toBe(200);
    expect((await call("GET", "/User1/", { token })).status).toBe(401);
    expect((await call("GET", "/health")).status).toBe(200);
  });

  it("two-factor enrolment and login (setup, enable, 403 mfa_required, verify, status, errors) as documented", async () => {
    const mfaUser = { ...user, email: "grace.mfa.conformance@example.com", phone: "+14155552672" };
    expect((await call("POST", "/User2/create", { json: mfaUser })).status).toBe(201);
    // The verify policy is spent by the flow above (3 per window here): mark the address verified in the store.
    const store = await server.context.store();
    const index = (await server.context.accountDeps("blindIndex")).blindIndex("User2", mfaUser.email);
    const record = await store.findByEmailIndex("User2", index);
    const marked = await store.update("User2", record?.id as string, record?.version as number, {
      emailVerified: true,
    });
    expect(marked.ok).toBe(true);
    const form = { username: mfaUser.email, password: PASSWORD };
    const first = await call("POST", "/User2/login", { form });
    const token = first.json.access_token as string;
    expect((await call("GET", "/User2/mfa", { token })).status).toBe(200);
    const setup = await call("POST", "/User2/mfa/totp/setup", { token });
    expect(setup.status).toBe(200);
    const secret = setup.json.secret as string;
    const wrong = await call("POST", "/User2/mfa/totp/enable", {
      token,
      json: { code: "000000", password: PASSWORD },
    });
    expect(wrong.status).toBe(400);
    const enabled = await call("POST", "/User2/mfa/totp/enable", {
      token,
      json: { code: totpCode(secret, Date.now()), password: PASSWORD },
    });
    expect(enabled.status).toBe(200);
    const challenge = await call("POST", "/User2/login", { form });
    expect(challenge.status).toBe(403);
    const mfaToken = challenge.json.mfa_token as string;
    const notEnrolled = await call("POST", "/User2/mfa/challenge", {
      json: { mfa_token: mfaToken, method: "sms" },
    });
    expect(notEnrolled.status).toBe(422);
    const ok = await call("POST", "/User2/mfa/verify", {
      json: { mfa_token: mfaToken, method: "totp", code: totpCode(secret, Date.now() + 30_000) },
    });
    expect(ok.status).toBe(200);
    expect(
      (
        await call("POST", "/User2/mfa/verify", {
          json: { mfa_token: mfaToken, method: "totp", code: "123456" },
        })
      ).status,
    ).toBe(401);
    const session = ok.json.access_token as string;
    expect((await call("GET", "/User2/mfa", { token: session })).status).toBe(200);
    const codes = await call("POST", "/User2/mfa/recovery_codes", {
      token: session,
      json: { password: PASSWORD },
    });
    expect(codes.status).toBe(200);
    const bad = await call("POST", "/User2/mfa/recovery_codes", {
      token: session,
      json: { password: "Wrong-password-1" },
    });
    expect(bad.status).toBe(403);
  });

  it("documents the error answers: 401, 422, 415, 400 and wrong credentials", async () => {
    expect((await call("GET", "/User2/")).status).toBe(401);
    expect((await call("GET", "/User2/", { token: "not-a-jwt" })).status).toBe(401);
    expect((await call("PUT", "/User2/update", { token: "x.y.z", json: { first_name: "X" } })).status).toBe(
      401,
    );
    const invalid = await call("POST", "/User2/create", { json: { ...user, email: "not-an-email" } });
    expect(invalid.status).toBe(422);
    expect(invalid.json.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: "email" })]),
    );
    expect((await call("POST", "/User2/create", { json: { ...user, role: "admin" } })).status).toBe(422);
    const malformed = await call("POST", "/User2/create", {
      headers: { "content-type": "application/json" },
      raw: '{"first_name": ',
    });
    expect(malformed.status).toBe(400);
    expect((await call("POST", "/User2/login", { headers: { "content-type": "text/plain" } })).status).toBe(
      415,
    );
    const wrong = await call("POST", "/User2/login", {
      form: { username: "nobody@example.com", password: "nope" },
    });
    expect(wrong.status).toBe(401);
  });

  it("answers 429 on a rate-limited route with a documented problem", async () => {
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 8 && !limited; i++) {
      const res = await call("POST", "/User2/verify", { json: { token: "AAAAAAAAAAAAAAAAAAAAAAAA" } });
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(400);
    }
    expect(limited?.json.code).toBe("rate_limited");
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("answers an unknown route with a 404 problem that matches the Problem schema", async () => {
    for (const path of ["/User1/nope", "/User3/login", "/"]) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      const body = await res.json();
      expect(validator.validateAt("/components/schemas/Problem", body)).toEqual([]);
      expect(body).toMatchObject({ status: 404, code: "not_found" });
    }
  });

  it("flags a response whose status the document does not list (the check can fail)", () => {
    const problems = validator.checkResponse({
      method: "GET",
      path: "/User1/",
      status: 418,
      contentType: "application/json",
      text: "{}",
    });
    expect(problems.join()).toMatch(/status not documented/);
    const badBody = validator.checkResponse({
      method: "GET",
      path: "/User1/",
      status: 200,
      contentType: "application/json",
      text: JSON.stringify({ id: 1 }),
    });
    expect(badBody.length).toBeGreaterThan(0);
  });
});
