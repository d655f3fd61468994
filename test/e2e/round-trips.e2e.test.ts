import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { confirmVerificationLink } from "../fixtures/accounts";
import { type CountingProxy, startCountingProxy } from "../helpers/counting-proxy";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { apiClient, startTestServer, type TestServer } from "../helpers/local-server";
import { startTestRedis, type TestRedis } from "../helpers/redis";

/**
 * DESIGN.md §6: round trips to Redis are the cost unit on serverless, and an authenticated read
 * should cost one. The server talks to Redis through a proxy that holds every answer for
 * HOLD_MS, so a Redis call that had to wait for another's answer would arrive HOLD_MS later; the
 * test asserts that every call of a profile read was sent before any answer could have come back.
 */
const HOLD_MS = 300;
let redis: TestRedis;
let proxy: CountingProxy;
let server: TestServer;

beforeAll(async () => {
  redis = await startTestRedis();
  proxy = await startCountingProxy(redis.restUrl, { delayMs: HOLD_MS });
  server = await startTestServer({
    RATE_LIMITS: GENEROUS_RATE_LIMITS,
    UPSTASH_REDIS_REST_URL: proxy.url,
    UPSTASH_REDIS_REST_TOKEN: redis.restToken,
    REDIS_TIMEOUT_MS: "5000",
  });
});
afterAll(async () => {
  await server?.stop();
  await proxy?.close();
  await redis?.stop();
});

describe("Redis round trips", () => {
  it("an authenticated profile read (cached profile) sends all its Redis calls concurrently: one round trip", async () => {
    const api = apiClient(server.url);
    const user = {
      first_name: "Rita",
      last_name: "Trip",
      email: "rita.trip@example.com",
      phone: "+14155552671",
      country_code: "US",
      password: "Tr0ub4dor&3-horse-Battery",
    };
    expect((await api.request("POST", "/User1/create", { json: user })).status).toBe(201);
    const mail = await server.waitForEmail(user.email, (e) =>
      e.links.some((l) => l.includes("/verify?token=")),
    );
    await confirmVerificationLink(server, mail.links.find((l) => l.includes("/verify?token=")) as string);
    const login = await api.request("POST", "/User1/login", {
      form: { username: user.email, password: user.password },
    });
    const token = login.json.access_token as string;
    expect((await api.request("GET", "/User1/", { token })).status).toBe(200); // fills the profile cache

    proxy.reset();
    const read = await api.request("GET", "/User1/", { token });
    expect(read.status).toBe(200);
    const calls = proxy.requests;
    const commands = calls.flatMap((r) => r.commands);
    // One script reads the revocation marks and the encrypted profile and counts both limits
    // (issue #13: the session read is one command); the metrics counters are not part of it.
    expect(commands.filter((c) => !["hincrby", "expire"].includes(c))).toEqual(["evalsha"]);
    const first = Math.min(...calls.map((r) => r.arrivedAtMs));
    for (const call of calls) expect(call.arrivedAtMs - first, call.commands.join(",")).toBeLessThan(HOLD_MS);
  });
});
