import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServerHandle, startRedisServer } from "../../infra/local/redis-server";
import { testEnv } from "../helpers/env";
import { type ServerProcess, startServerProcess } from "../helpers/server-process";

/**
 * Rate limits across server instances, end to end: two local runtimes in separate CHILD processes
 * (as two warm Lambda instances would be), each with its own Upstash bridge and data directory, on
 * ONE shared redis-server, with the same secrets (one deployment). No trusted proxy is configured,
 * so every request counts under the socket address 127.0.0.1.
 */
let redis: RedisServerHandle;
let a: ServerProcess;
let b: ServerProcess;

beforeAll(async () => {
  redis = await startRedisServer();
  // A generous Redis timeout: fail-closed login must not 503 merely because the machine is busy.
  // verify keeps its limit of 10 but over ~11.6 days, so the count cannot straddle a window
  // boundary (the sliding window would weigh the previous window and skip a step).
  const shared = {
    ...testEnv(),
    REDIS_URL: redis.url,
    REDIS_TIMEOUT_MS: "5000",
    RATE_LIMITS: "verify=10/1000000",
  };
  [a, b] = await Promise.all([startServerProcess(shared), startServerProcess(shared)]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
});

let seq = 0;
function login(server: ServerProcess, forwardedFor: string) {
  seq += 1;
  return fetch(`${server.url}/User1/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": forwardedFor },
    body: new URLSearchParams({ username: `nobody.${seq}@example.com`, password: "wrong-password" }),
    signal: AbortSignal.timeout(15_000),
  });
}

describe("rate limits shared through Redis", () => {
  it("ignores X-Forwarded-For without a trusted proxy: a new one on every request does not reset the login count", async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 5; i++) {
      const res = await login(a, `198.51.100.${i}`);
      statuses.push(res.status);
      expect(res.headers.get("ratelimit-remaining")).toBe(String(5 - i));
    }
    const refused = await login(a, "198.51.100.77");
    expect([...statuses, refused.status]).toEqual([401, 401, 401, 401, 401, 429]);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(((await refused.json()) as { code: string }).code).toBe("rate_limited");
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(refused.headers.get("ratelimit-limit")).toBe("5");
    expect(refused.headers.get("ratelimit-remaining")).toBe("0");
    expect(refused.headers.get("ratelimit-reset")).toMatch(/^\d+$/);
  });

  it("two server processes on one Redis enforce ONE limit: requests spread over both are counted together", async () => {
    // The verify policy (10 per minute per address), untouched by the test above.
    const verify = (server: ServerProcess) =>
      fetch(`${server.url}/User1/verify`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: "not-a-real-token" }),
        signal: AbortSignal.timeout(15_000),
      });
    const remaining: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await verify(i % 2 === 0 ? a : b);
      expect(res.status).toBe(400); // counted, then refused as a bad token
      remaining.push(res.headers.get("ratelimit-remaining") ?? "none");
    }
    // One counter: the remaining budget falls by one per request, whichever process served it.
    expect(remaining).toEqual(["9", "8", "7", "6", "5", "4", "3", "2", "1", "0"]);
    expect((await verify(a)).status).toBe(429);
    expect((await verify(b)).status).toBe(429);
  });
});
