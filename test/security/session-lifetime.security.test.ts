import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisKeys } from "../../shared/accounts/keys";
import { parseConfig } from "../../shared/config/schema";
import { hashOpaqueToken } from "../../shared/crypto/random";
import { login, signUpVerified } from "../fixtures/accounts";
import { startTestApp, type TestApp } from "../fixtures/context";
import { apiClient } from "../helpers/api-client";
import { GENEROUS_RATE_LIMITS, testEnv } from "../helpers/env";
import { createTestUpstashClient } from "../helpers/redis";

/**
 * Issue #14 I4, in process on real parts (redis-server behind the Upstash bridge, SQLite):
 * - a refresh-token family used to live forever as long as it was rotated within each token's
 *   30-day TTL; it now ends `SESSION_MAX_LIFETIME_SECONDS` after its login, whatever its rotations;
 * - the reuse grace used to hand the successor of a just-used refresh token to ANY presenter within
 *   `REFRESH_REUSE_GRACE_SECONDS`, so a thief replaying a stolen token right after the owner's
 *   rotation got the live session; only the same client (address, IPv6 by /64, and User-Agent) gets
 *   it now, and anyone else triggers reuse detection (the whole family is revoked).
 * The client address comes from `X-Forwarded-For` (one trusted proxy), as behind a load balancer.
 */
const LIFETIME_SECONDS = 3600;
const GRACE_SECONDS = 10;
let app: TestApp;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  app = await startTestApp({
    RATE_LIMITS: GENEROUS_RATE_LIMITS,
    TRUSTED_PROXY_COUNT: "1",
    SESSION_MAX_LIFETIME_SECONDS: String(LIFETIME_SECONDS),
    REFRESH_REUSE_GRACE_SECONDS: String(GRACE_SECONDS),
  });
  api = apiClient(app);
});
afterAll(async () => {
  await app?.stop();
});

interface Client {
  address: string;
  userAgent: string;
}
const OWNER: Client = { address: "203.0.113.5", userAgent: "ExampleApp/3.1 (iPhone)" };

function refresh(token: string, client: Client = OWNER) {
  return api.request("POST", "/User1/token", {
    form: { grant_type: "refresh_token", refresh_token: token },
    headers: { "x-forwarded-for": client.address, "user-agent": client.userAgent },
  });
}

async function freshSession() {
  const user = await signUpVerified(app, "User1");
  return { user, tokens: await login(app, "User1", user) };
}

describe("absolute session lifetime", () => {
  it("defaults to 30 days", () => {
    expect(parseConfig(testEnv()).tokens.sessionMaxLifetimeSeconds).toBe(30 * 86_400);
  });

  it("a refresh family rotated all along still ends SESSION_MAX_LIFETIME_SECONDS after its login", async () => {
    const { tokens } = await freshSession();
    let current = tokens.refresh_token;
    // Rotate every 20 minutes: each token is fresh, the family keeps living...
    for (let elapsed = 0; elapsed + 1200 < LIFETIME_SECONDS; elapsed += 1200) {
      app.clock.advanceSeconds(1200);
      const res = await refresh(current);
      expect(res.status, res.text).toBe(200);
      current = res.json.refresh_token as string;
    }
    // ...until the session's absolute end, though the token in hand was issued 20 minutes ago.
    app.clock.advanceSeconds(1200);
    const ended = await refresh(current);
    expect(ended.status).toBe(401);
    expect(ended.json.code).toBe("invalid_grant");
  });

  it("a successor's TTL never reaches past the session's end", async () => {
    const { tokens } = await freshSession();
    app.clock.advanceSeconds(LIFETIME_SECONDS - 600);
    const res = await refresh(tokens.refresh_token);
    expect(res.status, res.text).toBe(200);
    const redis = createTestUpstashClient(app.redis);
    const ttl = await redis.ttl(
      redisKeys.refreshToken("User1", hashOpaqueToken(res.json.refresh_token as string)),
    );
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(600); // not REFRESH_TOKEN_TTL_SECONDS (30 days)
  });
});

describe("the refresh-token reuse grace is bound to the presenting client", () => {
  it("the same client retrying within the grace gets the same successor (no false alarm)", async () => {
    const { tokens } = await freshSession();
    const [a, b] = await Promise.all([refresh(tokens.refresh_token), refresh(tokens.refresh_token)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.json.refresh_token).toBe(b.json.refresh_token);
    app.clock.advanceSeconds(GRACE_SECONDS - 2);
    const retry = await refresh(tokens.refresh_token);
    expect(retry.status, retry.text).toBe(200);
    expect(retry.json.refresh_token).toBe(a.json.refresh_token);
    expect((await refresh(a.json.refresh_token as string)).status).toBe(200);
  });

  it.each([
    ["another address, same User-Agent", { address: "198.51.100.7", userAgent: OWNER.userAgent }],
    ["the same address, another User-Agent", { address: OWNER.address, userAgent: "curl/8.5.0" }],
  ])("a thief (%s) replaying the used token inside the grace revokes the family", async (_label, thief) => {
    const { user, tokens } = await freshSession();
    const owner = await refresh(tokens.refresh_token);
    expect(owner.status).toBe(200);
    const stolen = await refresh(tokens.refresh_token, thief);
    expect(stolen.status).toBe(401);
    expect(stolen.json.code).toBe("invalid_grant");
    expect(stolen.text).not.toContain(owner.json.refresh_token as string);
    // Reuse detected: the owner's successor and its access token are dead too.
    expect((await refresh(owner.json.refresh_token as string)).status).toBe(401);
    expect((await api.request("GET", "/User1/", { token: owner.json.access_token as string })).status).toBe(
      401,
    );
    const events = await (await app.context.auditLog()).listForActor("User1", user.id, 50);
    expect(events.some((e) => e.action === "refresh_reuse_detected")).toBe(true);
  });

  it("a thief racing the owner's own rotation gets nothing either", async () => {
    const { tokens } = await freshSession();
    const thief = { address: "198.51.100.8", userAgent: OWNER.userAgent };
    const [a, b] = await Promise.all([refresh(tokens.refresh_token), refresh(tokens.refresh_token, thief)]);
    // One of them rotated; the other presented a used token from another client: the family dies.
    expect([a.status, b.status].sort()).toEqual([200, 401]);
    const winner = a.status === 200 ? a : b;
    expect(
      (await refresh(winner.json.refresh_token as string, a.status === 200 ? OWNER : thief)).status,
    ).toBe(401);
  });
});
