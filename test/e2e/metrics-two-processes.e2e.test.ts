import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServerHandle, startRedisServer } from "../../infra/local/redis-server";
import { GENEROUS_RATE_LIMITS, testEnv } from "../helpers/env";
import { type ServerProcess, startServerProcess } from "../helpers/server-process";

/**
 * Metrics across instances, end to end: two local runtimes in separate CHILD processes (two warm
 * Lambda instances) with their own Upstash bridges on ONE redis-server. Each counts its own
 * requests in memory and flushes them to Redis at most every few seconds, and whenever it is
 * scraped; one `/metrics` response from either shows the sum of both once both have flushed.
 */
let redis: RedisServerHandle;
let a: ServerProcess;
let b: ServerProcess;
let opsToken = "";

beforeAll(async () => {
  redis = await startRedisServer();
  const base = testEnv({ RATE_LIMITS: GENEROUS_RATE_LIMITS });
  opsToken = base.OPS_TOKEN as string;
  const shared = { ...base, REDIS_URL: redis.url, REDIS_TIMEOUT_MS: "5000" };
  [a, b] = await Promise.all([startServerProcess(shared), startServerProcess(shared)]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
});

const call = (server: ServerProcess, path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, { ...init, signal: AbortSignal.timeout(15_000) });

const badLogin = (server: ServerProcess, n: number) =>
  call(server, "/User2/login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username: `nobody.${n}@example.com`, password: "wrong-password" }),
  });

/** The value of one sample line of a Prometheus text exposition, or `undefined` when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("metrics shared through Redis", () => {
  it("adds up the requests and events of two server processes in one /metrics response", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(a, "/health")).status);
    for (let i = 0; i < 4; i++) statuses.push((await call(b, "/health")).status);
    for (let i = 0; i < 2; i++) statuses.push((await badLogin(a, i)).status);
    for (let i = 2; i < 5; i++) statuses.push((await badLogin(b, i)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 401, 401, 401, 401, 401]);

    // Counts are buffered per instance: scraping b makes b flush what it holds (a scrape of a
    // flushes a's own), instead of waiting for b's next request after its flush interval.
    const flushB = await call(b, "/metrics", { headers: { authorization: `Bearer ${opsToken}` } });
    expect(flushB.status).toBe(200);
    await flushB.text();

    const fromA = await call(a, "/metrics", { headers: { authorization: `Bearer ${opsToken}` } });
    expect(fromA.status).toBe(200);
    const text = await fromA.text();
    expect(sample(text, 'auth_http_requests_total{route="/health",method="GET",status_class="2xx"}')).toBe(7);
    expect(
      sample(text, 'auth_http_requests_total{route="/User2/login",method="POST",status_class="4xx"}'),
    ).toBe(5);
    // Moved out of 2xx when they ended with 401 (counted optimistically as 2xx at their start).
    expect(
      sample(text, 'auth_http_requests_total{route="/User2/login",method="POST",status_class="2xx"}'),
    ).toBe(0);
    expect(sample(text, 'auth_events_total{event="login_failure",kind="User2"}')).toBe(5);

    // The other instance reads the same totals.
    const fromB = await (
      await call(b, "/metrics", { headers: { authorization: `Bearer ${opsToken}` } })
    ).text();
    expect(sample(fromB, 'auth_http_requests_total{route="/health",method="GET",status_class="2xx"}')).toBe(
      7,
    );
    expect(sample(fromB, 'auth_events_total{event="login_failure",kind="User2"}')).toBe(5);
  });

  it("refuses /health/detailed and /metrics without the operator token on every instance", async () => {
    for (const server of [a, b]) {
      for (const path of ["/health/detailed", "/metrics"]) {
        expect((await call(server, path)).status).toBe(401);
        const withOps = await call(server, path, { headers: { authorization: `Bearer ${opsToken}` } });
        expect(withOps.status).toBe(200);
      }
    }
  });
});
