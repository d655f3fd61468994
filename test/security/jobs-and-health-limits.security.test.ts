import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signQstashDelivery } from "../../infra/local/qstash-signing";
import { startTestApp, type TestApp } from "../fixtures/context";
import { apiClient } from "../helpers/api-client";

/**
 * Issue #14 F11, in process on real parts (redis-server behind the Upstash bridge, SQLite): 150
 * unsigned `POST /jobs/sms` from one address used to get 150 × 401 and write 150 audit rows, and
 * `/health` had no limit at all. Now:
 * - a missing or invalid signature counts against the per-address policy `job_signature`
 *   (10/min by default), then 429, and is audited as ONE row per client network per minute with
 *   the count in it;
 * - a genuinely signed delivery is never counted or refused, even from an address that has spent
 *   its rejection budget, and in volume (QStash delivers everything from a few addresses);
 * - `/health` (policy `health`) and the operator endpoints (`operations`) are limited per address,
 *   without the global per-address limit that would throttle monitors and scrapers.
 * Addresses come from `X-Forwarded-For` (one trusted proxy).
 */
const SIGNING_KEY = "sig_current_jobs_limit_test_key_0123456789";
let app: TestApp;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  app = await startTestApp({
    TRUSTED_PROXY_COUNT: "1",
    QSTASH_CURRENT_SIGNING_KEY: SIGNING_KEY,
    QSTASH_NEXT_SIGNING_KEY: "sig_next_jobs_limit_test_key_9876543210",
    // Health above the global per-address 100/hour, to show the global limit does not apply to it.
    RATE_LIMITS: "health=150/60",
  });
  api = apiClient(app);
});
afterAll(async () => {
  await app?.stop();
});

const from = (address: string) => ({ "x-forwarded-for": address });

/** Waits out the last seconds of a minute, so a burst's audit rows fall into one minute window. */
async function awayFromMinuteEdge() {
  const intoMinuteMs = Date.now() % 60_000;
  if (intoMinuteMs > 50_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinuteMs + 100));
}

function rejectedSignatureRows(): { client: string; count: number; code: string; at_ms: number }[] {
  const db = new Database(app.env.SQLITE_PATH as string, { readonly: true });
  try {
    return db
      .prepare(
        "SELECT client, count, code, at_ms FROM audit_events WHERE action = 'signature_rejected' ORDER BY client",
      )
      .all() as { client: string; count: number; code: string; at_ms: number }[];
  } finally {
    db.close();
  }
}

/** A delivery QStash signed for `/jobs/sms`, with a body that cannot be opened (acknowledged, nothing sent). */
async function signedDelivery(address: string) {
  const body = JSON.stringify({ v: 1, id: `job_${Math.random().toString(36).slice(2)}`, sealed: "x" });
  const signature = await signQstashDelivery({
    signingKey: SIGNING_KEY,
    url: `${app.env.APP_URL}/jobs/sms`,
    body: new TextEncoder().encode(body),
  });
  return api.request("POST", "/jobs/sms", {
    raw: body,
    headers: { "content-type": "application/json", "upstash-signature": signature, ...from(address) },
  });
}

describe("/jobs/*: rejected signatures are limited per address and audited in aggregate", () => {
  it("150 unsigned requests from one address: 10 × 401, then 429; ONE audit row counting the 10", async () => {
    await awayFromMinuteEdge();
    const statuses: number[] = [];
    for (let i = 0; i < 150; i++) {
      const unsigned = i % 2 === 0;
      const res = await api.request("POST", "/jobs/sms", {
        raw: "{}",
        headers: {
          "content-type": "application/json",
          ...(unsigned ? {} : { "upstash-signature": "eyJhbGciOiJIUzI1NiJ9.e30.forged" }),
          ...from("203.0.113.10"),
        },
      });
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual(Array(140).fill(429));
    await new Promise((r) => setTimeout(r, 100)); // the last audit write runs beside its response
    const rows = rejectedSignatureRows().filter((r) => r.client === "203.0.113.0/24");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ count: 10, code: "invalid_signature" });
    expect((rows[0] as { at_ms: number }).at_ms % 60_000).toBe(0); // the minute it stands for
  });

  it("another network gets its own budget and its own row", async () => {
    await awayFromMinuteEdge();
    for (let i = 0; i < 3; i++)
      expect(
        (await api.request("POST", "/jobs/email", { raw: "{}", headers: from("198.51.100.20") })).status,
      ).toBe(401);
    await new Promise((r) => setTimeout(r, 100));
    expect(rejectedSignatureRows().find((r) => r.client === "198.51.100.0/24")).toMatchObject({ count: 3 });
  });

  it("a genuine signed delivery is never refused, even from an address whose rejection budget is spent", async () => {
    const res = await signedDelivery("203.0.113.10");
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ status: "discarded", code: "undecodable_message" });
  });

  it("signed deliveries in volume from one address are not throttled (QStash sends from a few addresses)", async () => {
    const statuses = await Promise.all(Array.from({ length: 60 }, () => signedDelivery("192.0.2.50")));
    expect(statuses.map((r) => r.status)).toEqual(Array(60).fill(200));
    expect(rejectedSignatureRows().find((r) => r.client === "192.0.2.0/24")).toBeUndefined();
  });
});

describe("/health and the operator endpoints are limited per address", () => {
  it("/health: the policy's 150/min pass (beyond the global 100/hour), the next gets 429; other addresses are unaffected", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 151; i++)
      statuses.push((await api.request("GET", "/health", { headers: from("203.0.113.30") })).status);
    expect(statuses.slice(0, 150)).toEqual(Array(150).fill(200));
    expect(statuses[150]).toBe(429);
    const other = await api.request("GET", "/health", { headers: from("203.0.113.31") });
    expect(other.status).toBe(200);
    expect(other.headers.get("ratelimit-limit")).toBe("150");
  });

  it.each(["/metrics", "/health/detailed"])(
    "%s: 30 wrong-token requests per minute, then 429 before the token is checked",
    async (path) => {
      const address = path === "/metrics" ? "203.0.113.40" : "203.0.113.41";
      const statuses: number[] = [];
      for (let i = 0; i < 31; i++)
        statuses.push(
          (await api.request("GET", path, { token: "not-the-operator-token", headers: from(address) }))
            .status,
        );
      expect(statuses.slice(0, 30)).toEqual(Array(30).fill(401));
      expect(statuses[30]).toBe(429);
    },
  );
});
