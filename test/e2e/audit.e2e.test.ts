import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../../shared/ports/audit";
import { confirmVerificationLink } from "../fixtures/accounts";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { apiClient, startTestServer, type TestServer } from "../helpers/local-server";

/**
 * The audit trail end to end: real requests against the local runtime, then the events read back
 * through the AuditLog port (the SQLite table the runtime writes). Who, what, outcome, truncated
 * network, and never a piece of personal data or a secret.
 */
let server: TestServer;
let api: ReturnType<typeof apiClient>;

/** Two profile reads per minute per user, so the third is refused (and audited as rate_limited). */
// A long window: a burst cannot straddle a window boundary (the sliding window would skip a step).
const RATE_LIMITS = GENEROUS_RATE_LIMITS.replace("profile=10000/60", "profile=2/1000000");

beforeAll(async () => {
  // No reuse grace: a used refresh token presented again is a replay at once.
  server = await startTestServer({ RATE_LIMITS, REFRESH_REUSE_GRACE_SECONDS: "0" });
  api = apiClient(server.url);
});
afterAll(async () => {
  await server?.stop();
});

const PASSWORD = "Tr0ub4dor&3-horse-Battery";
const user = {
  first_name: "Audrey",
  last_name: "Trailblazer",
  email: `audrey.${Date.now().toString(36)}@example.com`,
  phone: "+14155550123",
  country_code: "US",
  password: PASSWORD,
};

const auditLog = () => server.context.auditLog();
const pick = ({ action, outcome, code }: AuditEvent) => ({ action, outcome, code });

describe("audit events of an account's life", () => {
  const secrets: string[] = [];
  let userId = "";
  let emailActor = "";
  let events: AuditEvent[] = [];

  beforeAll(async () => {
    const created = await api.request("POST", "/User1/create", { json: user });
    expect(created.status, created.text).toBe(201);
    userId = created.json.id as string;
    emailActor = `eidx_${(await server.context.accountDeps("blindIndex")).blindIndex("User1", user.email)}`;
    const mail = await server.waitForEmail(user.email, (e) =>
      e.links.some((l) => l.includes("/verify?token=")),
    );
    const link = mail.links.find((l) => l.includes("/verify?token=")) as string;
    secrets.push(new URL(link).searchParams.get("token") as string);
    expect((await fetch(link)).status).toBe(200); // the page: not audited, verifies nothing
    expect((await confirmVerificationLink(server, link)).status).toBe(200);

    const wrong = await api.request("POST", "/User1/login", {
      form: { username: user.email, password: "Wrong-Password-123" },
    });
    expect(wrong.status).toBe(401);
    const login = await api.request("POST", "/User1/login", {
      form: { username: user.email, password: PASSWORD },
    });
    expect(login.status).toBe(200);
    const token = login.json.access_token as string;
    secrets.push(token, login.json.refresh_token as string);

    const reads = [];
    for (let i = 0; i < 3; i++) reads.push((await api.request("GET", "/User1/", { token })).status);
    expect(reads).toEqual([200, 200, 429]);
    expect((await api.request("PUT", "/User1/update", { token, json: { first_name: "Audra" } })).status).toBe(
      200,
    );
    expect((await api.request("POST", "/User1/logout", { token })).status).toBe(200);

    const again = await api.request("POST", "/User1/login", {
      json: { username: user.email, password: PASSWORD },
    });
    const token2 = again.json.access_token as string;
    secrets.push(token2, again.json.refresh_token as string);

    // Another session: its refresh token rotated, then replayed (detected; that session ends).
    const third = await api.request("POST", "/User1/login", {
      form: { username: user.email, password: PASSWORD },
    });
    const refresh3 = third.json.refresh_token as string;
    secrets.push(third.json.access_token as string, refresh3);
    const grant = { grant_type: "refresh_token", refresh_token: refresh3 };
    const rotated = await api.request("POST", "/User1/token", { form: grant });
    expect(rotated.status).toBe(200);
    secrets.push(rotated.json.access_token as string, rotated.json.refresh_token as string);
    expect((await api.request("POST", "/User1/token", { form: grant })).status).toBe(401);
    const badDelete = await api.request("DELETE", "/User1/delete", {
      token: token2,
      json: { password: "nope-nope-nope" },
    });
    expect(badDelete.status).toBe(403);
    expect(
      (await api.request("DELETE", "/User1/delete", { token: token2, json: { password: PASSWORD } })).status,
    ).toBe(200);

    const log = await auditLog();
    events = [
      ...(await log.listForActor("User1", userId, 100)),
      ...(await log.listForActor("User1", emailActor, 100)),
    ];
  });

  it("names the typed email's blind index before a user is known, the user id once it is", async () => {
    const log = await auditLog();
    // Sorted, not in time order: two events of one millisecond have no defined order (the
    // newest-first order itself is part of the AuditLog contract suite).
    const sorted = (list: AuditEvent[]) =>
      list.map(pick).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    expect(sorted(await log.listForActor("User1", emailActor, 100))).toEqual(
      sorted([
        { action: "register", outcome: "success", code: null },
        { action: "login", outcome: "failure", code: "invalid_credentials" },
      ] as AuditEvent[]),
    );
    expect(sorted(await log.listForActor("User1", userId, 100))).toEqual(
      sorted([
        { action: "verify_email", outcome: "success", code: null },
        { action: "login", outcome: "success", code: null },
        { action: "rate_limited", outcome: "failure", code: "profile" },
        { action: "profile_update", outcome: "success", code: null },
        { action: "logout", outcome: "success", code: null },
        { action: "login", outcome: "success", code: null },
        { action: "login", outcome: "success", code: null },
        { action: "token_refresh", outcome: "success", code: null },
        { action: "refresh_reuse_detected", outcome: "failure", code: "refresh_token_reuse" },
        { action: "account_delete", outcome: "failure", code: "incorrect_password" },
        { action: "account_delete", outcome: "success", code: null },
      ] as AuditEvent[]),
    );
  });

  it("does not audit profile reads (the hot path), only the refusal of one", () => {
    expect(events.filter((e) => e.action === "rate_limited")).toHaveLength(1);
    expect(events.every((e) => e.kind === "User1")).toBe(true);
  });

  it("stores when, the request id and the /24 network, never the address itself", () => {
    const now = Date.now();
    for (const event of events) {
      expect(event.id).toMatch(/^aud_[A-Za-z0-9_-]{22}$/);
      expect(now - event.atMs).toBeGreaterThanOrEqual(0);
      expect(now - event.atMs).toBeLessThan(10 * 60_000);
      // A detection inside a use-case has no request context; every HTTP-layer event has it.
      if (event.action === "refresh_reuse_detected") continue;
      expect(event.client).toBe("127.0.0.0/24");
      expect(event.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(JSON.stringify(events)).not.toContain("127.0.0.1");
  });

  it("holds no personal data and no secret: no email, phone, name, password or token", () => {
    const text = JSON.stringify(events);
    const values = [
      user.email,
      user.phone,
      "4155550123",
      user.first_name,
      "Audra",
      user.last_name,
      PASSWORD,
      ...secrets,
    ];
    for (const value of values) expect(text.includes(value), value).toBe(false);
  });

  it("counts the events in the cross-instance metrics", async () => {
    const res = await api.request("GET", "/metrics", { token: process.env.OPS_TOKEN as string });
    expect(res.text).toMatch(/^auth_events_total\{event="login_failure",kind="User1"\} 1$/m);
    expect(res.text).toMatch(/^auth_events_total\{event="login_success",kind="User1"\} 3$/m);
    expect(res.text).toMatch(/^auth_events_total\{event="refresh_reuse_detected",kind="User1"\} 1$/m);
    expect(res.text).toMatch(/^auth_events_total\{event="token_refresh_failure",kind="User1"\} 1$/m);
    expect(res.text).toMatch(/^auth_events_total\{event="rate_limited",kind="User1"\} 1$/m);
  });
});

describe("audit events outside the account routes", () => {
  it("records deliveries with a missing or forged QStash signature as ONE aggregated signature_rejected event", async () => {
    const missing = await fetch(`${server.url}/jobs/email`, { method: "POST", body: "{}" });
    expect(missing.status).toBe(401);
    const forged = await fetch(`${server.url}/jobs/sms`, {
      method: "POST",
      headers: { "upstash-signature": "eyJhbGciOiJIUzI1NiJ9.e30.forged" },
      body: "{}",
    });
    expect(forged.status).toBe(401);
    // The port lists by actor; these events have none, so read the adapter's table directly.
    const db = new Database(join(server.dataDir, "users.sqlite"), { readonly: true });
    try {
      const rows = db
        .prepare(
          "SELECT kind, actor, outcome, code, client, count FROM audit_events WHERE action = 'signature_rejected' ORDER BY at_ms",
        )
        .all() as { count: number }[];
      // One row per client network per minute (two, if the two requests straddled a minute).
      expect(rows.reduce((sum, r) => sum + r.count, 0)).toBe(2);
      for (const row of rows)
        expect(row).toMatchObject({
          kind: null,
          actor: null,
          outcome: "failure",
          code: "invalid_signature",
          client: "127.0.0.0/24",
        });
    } finally {
      db.close();
    }
  });
});

describe("audit retention and failures", () => {
  it("purges events older than a cut-off through the port", async () => {
    const log = await auditLog();
    const actor = `eidx_${(await server.context.accountDeps("blindIndex")).blindIndex("User1", user.email)}`;
    expect((await log.listForActor("User1", actor, 100)).length).toBeGreaterThan(0);
    expect(await log.purgeOlderThan(Date.now() + 1)).toBeGreaterThan(0);
    expect(await log.listForActor("User1", actor, 100)).toEqual([]);
  });

  it("never fails a request because the audit write failed (the event is lost, the request is not)", async () => {
    await (await auditLog()).close(); // every later write now throws inside the adapter
    const res = await api.request("POST", "/User1/login", {
      form: { username: user.email, password: PASSWORD },
    });
    expect(res.status).toBe(401); // the account was deleted above: the ordinary answer, not a 500
    expect(res.json.code).toBe("invalid_credentials");
  });
});
