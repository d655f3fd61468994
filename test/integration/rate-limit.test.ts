import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Redis } from "@upstash/redis";
import type { MiddlewareHandler } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUpstashRedis } from "../../shared/adapters/upstash-kv";
import {
  type RateLimitOverride,
  type RateLimitPolicySet,
  rateLimitPolicies,
} from "../../shared/config/rate-limits";
import { parseConfig } from "../../shared/config/schema";
import { type AppEnv, createFunctionApp } from "../../shared/http/app";
import { createRateLimits } from "../../shared/http/rate-limit";
import { createLogger, type Logger } from "../../shared/observability/logger";
import { createTestUpstashClient, startTestRedis, type TestRedis } from "../helpers/redis";

let env: TestRedis;
beforeAll(async () => {
  env = await startTestRedis();
});
afterAll(async () => {
  await env?.stop();
});

const redisFor = (e: Pick<TestRedis, "restUrl" | "restToken">, timeoutMs = 2000) =>
  createUpstashRedis({ url: e.restUrl, token: e.restToken, timeoutMs });

/**
 * The seed's table with every window stretched to ~11.6 days (limits unchanged). The sliding window
 * weighs the previous fixed window in, so a burst that straddles a window boundary would see
 * different counts; windows this long make such a boundary inside a test run practically impossible.
 */
function longWindows(overrides: Record<string, RateLimitOverride> = {}): RateLimitPolicySet {
  const set = rateLimitPolicies(overrides);
  const stretch = <T extends { windowSeconds: number }>(p: T): T => ({ ...p, windowSeconds: 1_000_000 });
  const routes = Object.fromEntries(Object.entries(set.routes).map(([n, p]) => [n, stretch(p)]));
  return { routes: routes as RateLimitPolicySet["routes"], global: stretch(set.global) };
}

let prefixSeq = 0;
/** A fresh key prefix per test, so tests share no counters. */
const freshPrefix = () => `t${++prefixSeq}:`;

/** Captures log lines as parsed JSON objects. */
function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: "warn",
    destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  });
  return { logger, lines };
}

/** Stand-in for the auth middleware (not under test): takes the user id from a test header. */
const testAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const userId = c.req.header("x-test-user");
  if (userId) c.set("userId", userId);
  await next();
};

interface TestAppOptions {
  redis: Redis;
  prefix?: string;
  policies?: RateLimitPolicySet;
  trustedProxyCount?: number;
  timeoutMs?: number;
  logger?: Logger;
}

/** A function app with three rate-limited routes: login (by address), verify (by address), profile (by user). */
function buildApp(o: TestAppOptions) {
  const app = createFunctionApp({
    name: "rate-limit-test",
    bodyLimitBytes: 1024,
    trustedProxyCount: o.trustedProxyCount ?? 0,
    corsOrigins: [],
    logger: o.logger ?? createLogger({ level: "silent" }),
  });
  const limits = createRateLimits({
    redis: o.redis,
    prefix: o.prefix ?? freshPrefix(),
    policies: o.policies ?? longWindows(),
    timeoutMs: o.timeoutMs ?? 1500,
  });
  app.post("/:kind/login", limits.middleware("login"), (c) => c.json({ ok: true }));
  app.post("/:kind/verify", limits.middleware("verify"), (c) => c.json({ ok: true }));
  app.get("/:kind/profile", testAuth, limits.middleware("profile"), (c) => c.json({ ok: true }));
  return app;
}

type TestApp = ReturnType<typeof buildApp>;

/** One request as if it arrived on a socket from `address` (the Node server's binding, see client-address.ts). */
function send(
  app: TestApp,
  path: string,
  address: string,
  headers: Record<string, string> = {},
  method = path.endsWith("/profile") ? "GET" : "POST",
) {
  return app.request(path, { method, headers }, { incoming: { socket: { remoteAddress: address } } });
}

async function statuses(app: TestApp, n: number, path: string, address: string, headers = {}) {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send(app, path, address, headers)).status);
  return out;
}

const OK5 = [200, 200, 200, 200, 200];

describe("rate-limit middleware on real Redis through the Upstash bridge", () => {
  it("uses the seed's table by default: login allows 5 per minute and says so in RateLimit-* headers", async () => {
    const app = buildApp({ redis: redisFor(env), policies: rateLimitPolicies() });
    const res = await send(app, "/User1/login", "192.0.2.10");
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-limit")).toBe("5");
    expect(res.headers.get("ratelimit-remaining")).toBe("4");
    const reset = Number(res.headers.get("ratelimit-reset"));
    expect(Number.isInteger(reset) && reset >= 0 && reset <= 60).toBe(true);
  });

  it("answers the 6th login from one address with 429 problem+json, Retry-After and RateLimit-* headers", async () => {
    const prefix = freshPrefix();
    const app = buildApp({ redis: redisFor(env), prefix });
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await send(app, "/User1/login", "203.0.113.7");
      expect(res.status).toBe(200);
      expect(res.headers.get("ratelimit-limit")).toBe("5");
      expect(res.headers.get("ratelimit-reset")).toMatch(/^\d+$/);
      remaining.push(res.headers.get("ratelimit-remaining"));
    }
    expect(remaining).toEqual(["4", "3", "2", "1", "0"]);

    const refused = await send(app, "/User1/login", "203.0.113.7");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
    expect(refused.headers.get("ratelimit-limit")).toBe("5");
    expect(refused.headers.get("ratelimit-remaining")).toBe("0");
    expect(Number(refused.headers.get("ratelimit-reset"))).toBeLessThanOrEqual(retryAfter);
    const body = (await refused.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 429, code: "rate_limited", title: "Too Many Requests" });
    expect(typeof body.request_id).toBe("string");
    expect(refused.headers.get("x-frame-options")).toBe("DENY"); // the app's security headers still apply

    // Still refused on the next attempt (now from the in-memory block cache), with the same headers.
    const again = await send(app, "/User1/login", "203.0.113.7");
    expect(again.status).toBe(429);
    expect(again.headers.get("retry-after")).toMatch(/^\d+$/);
    // Counted in Redis under <prefix>rl:<policy>:ip:<address>:<window>.
    const keys = await createTestUpstashClient(env).keys(`${prefix}rl:login:ip:203.0.113.7:*`);
    expect(keys).toHaveLength(1);
  });

  it("ignores X-Forwarded-For without trusted proxies: a new XFF per request does not reset the count", async () => {
    const app = buildApp({ redis: redisFor(env), trustedProxyCount: 0 });
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      seen.push(
        (await send(app, "/User1/login", "198.51.100.20", { "x-forwarded-for": `10.0.0.${i}` })).status,
      );
    }
    expect(seen).toEqual([...OK5, 429]);
  });

  it("with one trusted proxy, limits two clients behind it separately by their XFF address", async () => {
    const app = buildApp({ redis: redisFor(env), trustedProxyCount: 1 });
    const proxy = "10.1.1.1";
    expect(await statuses(app, 6, "/User1/login", proxy, { "x-forwarded-for": "198.51.100.1" })).toEqual([
      ...OK5,
      429,
    ]);
    // A spoofed left-most entry does not matter: the proxy's appended (right-most) entry is the client.
    expect(
      await statuses(app, 5, "/User1/login", proxy, { "x-forwarded-for": "198.51.100.1, 198.51.100.2" }),
    ).toEqual(OK5);
  });

  it("counts IPv6 clients by /64: addresses in one /64 share a limit, the next /64 does not", async () => {
    const app = buildApp({ redis: redisFor(env) });
    const sameNet = [
      "2001:db8:1:2::1",
      "2001:db8:1:2::2",
      "2001:db8:1:2:abcd::9",
      "2001:DB8:1:2:ffff:ffff:ffff:fffe",
    ];
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) seen.push((await send(app, "/User1/login", sameNet[i % 4] as string)).status);
    expect(seen).toEqual([...OK5, 429]);
    expect((await send(app, "/User1/login", "2001:db8:1:3::1")).status).toBe(200);
  });

  it("counts user-keyed policies per user id, whatever the address", async () => {
    const app = buildApp({
      redis: redisFor(env),
      policies: longWindows({ profile: { limit: 2, windowSeconds: 60 } }),
    });
    const alice = { "x-test-user": "usr_alice" };
    expect((await send(app, "/User1/profile", "192.0.2.1", alice)).status).toBe(200);
    expect((await send(app, "/User1/profile", "192.0.2.2", alice)).status).toBe(200);
    const refused = await send(app, "/User1/profile", "192.0.2.3", alice);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("ratelimit-limit")).toBe("2");
    // Another user on the same address as Alice's refused request is unaffected.
    expect((await send(app, "/User1/profile", "192.0.2.3", { "x-test-user": "usr_bob" })).status).toBe(200);
  });

  it("falls back to the address when a user-keyed policy sees no user id (still limited, and logged)", async () => {
    const { logger, lines } = captureLogger();
    const app = buildApp({
      redis: redisFor(env),
      logger,
      policies: longWindows({ profile: { limit: 1, windowSeconds: 60 } }),
    });
    expect(await statuses(app, 2, "/User1/profile", "192.0.2.50")).toEqual([200, 429]);
    expect(lines.some((l) => l.event === "rate_limit_no_user")).toBe(true);
  });

  it("enforces ONE limit across two app instances with separate Redis clients on the same Redis", async () => {
    const prefix = freshPrefix();
    const a = buildApp({ redis: redisFor(env), prefix });
    const b = buildApp({ redis: redisFor(env), prefix });
    const seen: number[] = [];
    for (const app of [a, b, a, b, a]) seen.push((await send(app, "/User1/login", "203.0.113.99")).status);
    expect(seen).toEqual(OK5);
    expect((await send(b, "/User1/login", "203.0.113.99")).status).toBe(429);
    expect((await send(a, "/User1/login", "203.0.113.99")).status).toBe(429);
  });

  it("applies the global per-address limit across routes of different policies", async () => {
    const app = buildApp({
      redis: redisFor(env),
      policies: longWindows({ global: { limit: 4, windowSeconds: 3600 } }),
    });
    const seen = [
      ...(await statuses(app, 2, "/User1/login", "192.0.2.77")),
      ...(await statuses(app, 2, "/User2/verify", "192.0.2.77")),
    ];
    expect(seen).toEqual([200, 200, 200, 200]);
    const refused = await send(app, "/User1/verify", "192.0.2.77");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("ratelimit-limit")).toBe("4");
    // Per address: another client still has its budget.
    expect((await send(app, "/User1/verify", "192.0.2.78")).status).toBe(200);
  });

  it("applies RATE_LIMITS overrides parsed by the configuration", async () => {
    const config = parseConfig({
      JWT_SECRET: "k3Jd9sL2mQ8vX1zR7tY4uW6pN0aB5cE!",
      ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
      EMAIL_SALT: "p0Q9w8E7r6T5y4U3i2O1-blind-index",
      RATE_LIMITS: "login=2/1000000,verify=1/1000000",
    });
    const app = buildApp({ redis: redisFor(env), policies: rateLimitPolicies(config.rateLimits) });
    expect(await statuses(app, 3, "/User1/login", "192.0.2.90")).toEqual([200, 200, 429]);
    expect(await statuses(app, 2, "/User1/verify", "192.0.2.91")).toEqual([200, 429]);
  });
});

describe("createRateLimits options", () => {
  it("refuses an unknown policy name and a non-positive timeout when built, not per request", () => {
    const limits = createRateLimits({
      redis: redisFor(env),
      prefix: "",
      policies: rateLimitPolicies(),
      timeoutMs: 100,
    });
    expect(() => limits.middleware("signin" as never)).toThrow(/unknown policy "signin"/);
    expect(() =>
      createRateLimits({ redis: redisFor(env), prefix: "", policies: rateLimitPolicies(), timeoutMs: 0 }),
    ).toThrow(/timeoutMs/);
  });
});

describe("rate-limit failure policy when Redis cannot answer", () => {
  it("with Redis stopped, a fail-closed policy answers 503 problem+json and a fail-open one proceeds with a warning", async () => {
    const dead = await startTestRedis();
    const { logger, lines } = captureLogger();
    const app = buildApp({ redis: redisFor(dead), logger });
    expect((await send(app, "/User1/login", "192.0.2.200")).status).toBe(200); // works while up
    await dead.stop();

    const closed = await send(app, "/User1/login", "192.0.2.200");
    expect(closed.status).toBe(503);
    expect(closed.headers.get("content-type")).toBe("application/problem+json");
    expect(closed.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await closed.json()).toMatchObject({ status: 503, code: "service_unavailable" });

    const open = await send(app, "/User1/verify", "192.0.2.200");
    expect(open.status).toBe(200);
    expect(open.headers.get("ratelimit-limit")).toBeNull(); // no verdict, so no numbers to report
    const warnings = lines.filter((l) => l.event === "rate_limit_unavailable");
    expect(warnings.map((l) => [l.reason, l.outcome])).toEqual(
      expect.arrayContaining([
        ["error", "refused"],
        ["error", "allowed"],
      ]),
    );
  });

  describe("with a Redis endpoint that accepts requests and never answers", () => {
    let hanging: Server;
    let url: string;
    beforeAll(async () => {
      hanging = createServer(() => {}); // never responds
      await new Promise<void>((r) => hanging.listen(0, "127.0.0.1", r));
      url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      hanging.closeAllConnections();
      await new Promise<void>((r) => hanging.close(() => r()));
    });

    it("the limiter's explicit timeout fails closed for login and open for verify", async () => {
      const { logger, lines } = captureLogger();
      // The limiter gives up after 200 ms, well before the client's own 5 s request timeout.
      const app = buildApp({
        redis: redisFor({ restUrl: url, restToken: "x" }, 5000),
        timeoutMs: 200,
        logger,
      });
      expect((await send(app, "/User1/login", "192.0.2.201")).status).toBe(503);
      expect((await send(app, "/User1/verify", "192.0.2.201")).status).toBe(200);
      expect(
        lines.filter((l) => l.event === "rate_limit_unavailable").map((l) => [l.reason, l.outcome]),
      ).toEqual([
        ["timeout", "refused"],
        ["timeout", "allowed"],
      ]);
    });
  });
});
