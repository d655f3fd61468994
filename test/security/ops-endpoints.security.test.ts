import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningQstashEmulator, startQstashEmulator } from "../../infra/local/qstash-emulator";
import packageJson from "../../package.json" with { type: "json" };
import type { BloomReport, DetailedHealthReport } from "../../shared/observability/detailed-health";
import { pingQstash, probeDependency } from "../../shared/observability/health-probes";
import { confirmVerificationLink } from "../fixtures/accounts";
import { startTestApp, type TestApp } from "../fixtures/context";
import { apiClient } from "../helpers/api-client";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";

/**
 * The operator endpoints in process, every function's `createApp(ctx)` on one test context (real
 * redis-server behind the Upstash bridge, SQLite file): `/health/detailed` and `/metrics` open only
 * to the configured `OPS_TOKEN` (never to a user's access token), and what they reveal is
 * operational data, never key material. The queue probe pings a real QStash emulator over HTTP
 * (notifications themselves go to the capturing notifier).
 */
const OPS_TOKEN = randomBytes(32).toString("base64url");
const BUILD_SHA = "3f9a2c1";
const PASSWORD = "Tr0ub4dor&3-horse-Battery";
const email = `ops.${Date.now().toString(36)}@example.com`;

let app: TestApp;
let qstash: RunningQstashEmulator;
let api: ReturnType<typeof apiClient>;
let userToken = "";

beforeAll(async () => {
  const credentials = {
    token: randomBytes(24).toString("base64url"),
    currentSigningKey: `sig_${randomBytes(24).toString("base64url")}`,
    nextSigningKey: `sig_${randomBytes(24).toString("base64url")}`,
  };
  qstash = await startQstashEmulator(credentials);
  app = await startTestApp({
    RATE_LIMITS: GENEROUS_RATE_LIMITS,
    OPS_TOKEN,
    BUILD_SHA,
    QSTASH_URL: qstash.url,
    QSTASH_TOKEN: credentials.token,
    QSTASH_CURRENT_SIGNING_KEY: credentials.currentSigningKey,
    QSTASH_NEXT_SIGNING_KEY: credentials.nextSigningKey,
  });
  api = apiClient(app);
  const created = await api.request("POST", "/User1/create", {
    json: {
      first_name: "Op",
      last_name: "Erator",
      email,
      phone: "+14155552671",
      country_code: "US",
      password: PASSWORD,
    },
  });
  expect(created.status, created.text).toBe(201);
  const mail = await app.waitForEmail(email, (e) => e.links.some((l) => l.includes("/verify?token=")));
  expect(
    (await confirmVerificationLink(app, mail.links.find((l) => l.includes("/verify?token=")) as string))
      .status,
  ).toBe(200);
  const login = await api.request("POST", "/User1/login", { form: { username: email, password: PASSWORD } });
  expect(login.status).toBe(200);
  userToken = login.json.access_token as string;
});
afterAll(async () => {
  await app?.stop();
  await qstash?.close();
});

describe.each(["/health/detailed", "/metrics"])("%s requires the operator token", (path) => {
  const expectRefused = (res: Awaited<ReturnType<typeof api.request>>) => {
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.json.code).toBe("unauthorized");
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="operations"');
  };

  it("refuses a request without credentials with 401", async () => {
    expectRefused(await api.request("GET", path));
  });

  it("refuses a user's valid access token with 401: operator access is not a user role", async () => {
    expect((await api.request("GET", "/User1/", { token: userToken })).status).toBe(200);
    expectRefused(await api.request("GET", path, { token: userToken }));
  });

  it("refuses near misses: another token of the same length, a prefix, an extension, another scheme", async () => {
    const sameLength = randomBytes(32).toString("base64url");
    for (const token of [sameLength, OPS_TOKEN.slice(0, -1), `${OPS_TOKEN}x`]) {
      expectRefused(await api.request("GET", path, { token }));
    }
    expectRefused(await api.request("GET", path, { headers: { authorization: `Basic ${OPS_TOKEN}` } }));
    expectRefused(await api.request("GET", path, { headers: { authorization: OPS_TOKEN } }));
  });

  it("answers 200 with the operator token", async () => {
    const res = await api.request("GET", path, { token: OPS_TOKEN });
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });
});

describe("GET /health/detailed", () => {
  it("reports dependency latencies, each kind's Bloom filter, the key ring and the build", async () => {
    const res = await api.request("GET", "/health/detailed", { token: OPS_TOKEN });
    expect(res.status).toBe(200);
    const body = res.json as unknown as DetailedHealthReport;
    expect(body).toMatchObject({ status: "healthy", version: packageJson.version, build_sha: BUILD_SHA });
    for (const dependency of ["database", "redis", "queue"] as const) {
      expect(body.dependencies[dependency].status, dependency).toBe("healthy");
      expect(body.dependencies[dependency].latency_ms).toBeGreaterThanOrEqual(0);
    }
    expect(Object.keys(body.bloom_filters).sort()).toEqual(["User1", "User2"]);
    const user1 = body.bloom_filters.User1 as BloomReport;
    expect(user1).toMatchObject({ capacity: 1_000_000, target_false_positive_rate: 0.01, hashes: 7 });
    expect(user1.set_bits).toBeGreaterThan(0); // the registered user's email index
    expect(user1.set_bits).toBeLessThanOrEqual(user1.hashes);
    expect(user1.fill).toBeCloseTo((user1.set_bits ?? 0) / user1.bits, 12);
    expect(user1.estimated_false_positive_rate).toBeLessThan(0.01);
    expect(body.bloom_filters.User2?.set_bits).toBe(0);
    expect(body.key_ring).toEqual({ active_key_id: "k1", key_count: 1, key_ids: ["k1"] });
  });

  it("reveals no secret of the configuration", async () => {
    const res = await api.request("GET", "/health/detailed", { token: OPS_TOKEN });
    const env = app.env;
    for (const name of [
      "ENCRYPTION_KEY",
      "JWT_SECRET",
      "EMAIL_SALT",
      "OPS_TOKEN",
      "QSTASH_TOKEN",
      "UPSTASH_REDIS_REST_TOKEN",
    ]) {
      const value = env[name];
      expect(value, name).toBeTruthy();
      expect(res.text.includes(value as string), name).toBe(false);
    }
  });

  it("leaves GET /health public", async () => {
    expect((await api.request("GET", "/health")).status).toBe(200);
  });
});

describe("GET /metrics", () => {
  it("answers the Prometheus text format with HELP and TYPE lines and this server's traffic", async () => {
    const res = await api.request("GET", "/metrics", { token: OPS_TOKEN });
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    for (const family of ["auth_http_requests_total", "auth_events_total", "auth_metrics_window_seconds"]) {
      expect(res.text).toMatch(new RegExp(`^# HELP ${family} .+$`, "m"));
      expect(res.text).toMatch(new RegExp(`^# TYPE ${family} gauge$`, "m"));
    }
    expect(res.text).toMatch(
      /^auth_http_requests_total\{route="\/User1\/login",method="POST",status_class="2xx"\} [1-9]\d*$/m,
    );
    expect(res.text).toMatch(/^auth_events_total\{event="register_success",kind="User1"\} [1-9]\d*$/m);
    expect(res.text).toMatch(/^auth_metrics_window_seconds 3600$/m);
    expect(res.text).not.toContain(email);
  });

  it("takes a window in minutes (1–180) and refuses anything else with 422", async () => {
    const five = await api.request("GET", "/metrics?window_minutes=5", { token: OPS_TOKEN });
    expect(five.text).toMatch(/^auth_metrics_window_seconds 300$/m);
    for (const bad of ["0", "181", "abc", "1.5"]) {
      const res = await api.request("GET", `/metrics?window_minutes=${bad}`, { token: OPS_TOKEN });
      expect(res.status, bad).toBe(422);
    }
  });
});

describe("queue reachability probe", () => {
  it("is healthy with the right token, and names a refused token or an unreachable QStash", async () => {
    const credentials = {
      token: randomBytes(16).toString("hex"),
      currentSigningKey: "sig_a",
      nextSigningKey: "sig_b",
    };
    const qstash = await startQstashEmulator(credentials);
    try {
      expect(
        await probeDependency(() => pingQstash({ baseUrl: qstash.url, token: credentials.token })),
      ).toMatchObject({
        status: "healthy",
      });
      expect(await probeDependency(() => pingQstash({ baseUrl: qstash.url, token: "wrong" }))).toMatchObject({
        status: "unhealthy",
        error: "QstashUnauthorized",
      });
    } finally {
      await qstash.close();
    }
    const down = await probeDependency(() => pingQstash({ baseUrl: qstash.url, token: credentials.token }));
    expect(down.status).toBe("unhealthy");
  });
});
