import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFunctionApp } from "../../shared/http/app";
import { problems } from "../../shared/http/problem";
import { createLogger } from "../../shared/observability/logger";
import { startTestApp, type TestApp } from "../fixtures/context";
import { apiClient } from "../helpers/api-client";

/**
 * Issue #14 I6: a client-chosen `X-Request-Id` used to become the id of the audit event and of
 * every log line of its request, so audit correlation ids could be forged or made to collide with
 * someone else's. An incoming id is now adopted only behind trusted proxies and only in a safe
 * format; everything else gets a generated one.
 */
const FORGED = "forged-id-of-someone-else-1234";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function appWith(trustedProxyCount: number) {
  const app = createFunctionApp({
    name: "request-id-test",
    bodyLimitBytes: 1024,
    trustedProxyCount,
    corsOrigins: [],
    logger: createLogger({ level: "silent" }),
  });
  app.get("/refused", () => {
    throw problems.unauthorized();
  });
  return app;
}

describe("X-Request-Id from the client", () => {
  it("is never adopted when the request did not come through a trusted proxy", async () => {
    const res = await appWith(0).request("/refused", { headers: { "x-request-id": FORGED } });
    const id = res.headers.get("x-request-id") ?? "";
    expect(id).not.toBe(FORGED);
    expect(id).toMatch(UUID);
    expect(((await res.json()) as { request_id: string }).request_id).toBe(id);
  });

  it("is adopted behind a trusted proxy when it is 1–128 characters of [A-Za-z0-9._-]", async () => {
    for (const good of [FORGED, "a", "Root.1-67891233-abcdef012345678912345678.x_y", "z".repeat(128)]) {
      const res = await appWith(1).request("/refused", { headers: { "x-request-id": good } });
      expect(res.headers.get("x-request-id")).toBe(good);
    }
  });

  it("is replaced behind a trusted proxy when its format is unsafe", async () => {
    for (const bad of [
      "z".repeat(129),
      "has space",
      "a=b",
      'quote"d',
      "semi;colon",
      "slash/ed",
      "ünïcode",
      '{"$ne":null}',
    ]) {
      const res = await appWith(1).request("/refused", { headers: { "x-request-id": bad } });
      expect(res.headers.get("x-request-id"), bad).toMatch(UUID);
    }
  });
});

describe("the audit trail's request ids cannot be chosen by a client", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("a failed login sent with a forged X-Request-Id is audited under a generated id", async () => {
    const email = `forger.${Date.now()}@example.com`;
    const res = await apiClient(t).request("POST", "/User1/login", {
      form: { username: email, password: "not-the-password-at-all" },
      headers: { "x-request-id": FORGED },
    });
    expect(res.status).toBe(401);
    const generated = res.headers.get("x-request-id");
    expect(generated).toMatch(UUID);
    expect(res.json.request_id).toBe(generated);
    const { blindIndex } = await t.context.accountDeps("blindIndex");
    const auditLog = await t.context.auditLog();
    let events: Awaited<ReturnType<typeof auditLog.listForActor>> = [];
    for (let i = 0; i < 50 && events.length === 0; i++) {
      events = await auditLog.listForActor("User1", `eidx_${blindIndex("User1", email)}`, 10);
      if (events.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(events.map((e) => [e.action, e.requestId])).toEqual([["login", generated]]);
  });
});
