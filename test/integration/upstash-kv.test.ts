import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUpstashKv, createUpstashRedis } from "../../shared/adapters/upstash-kv";
import type { Kv } from "../../shared/ports/kv";
import { type CountingProxy, startCountingProxy } from "../helpers/counting-proxy";
import { startTestRedis, type TestRedis } from "../helpers/redis";

/** The Kv adapter's newer primitives over the real client, bridge and redis-server. */
let env: TestRedis;
let proxy: CountingProxy;
let kv: Kv;
beforeAll(async () => {
  env = await startTestRedis();
  proxy = await startCountingProxy(env.restUrl);
  kv = createUpstashKv(createUpstashRedis({ url: proxy.url, token: env.restToken, timeoutMs: 2000 }));
});
afterAll(async () => {
  await proxy?.close();
  await env?.stop();
});

describe("Kv.setNxGet", () => {
  it("stores when absent and answers null; otherwise keeps the value and answers it; one command each", async () => {
    proxy.reset();
    expect(await kv.setNxGet("claim:a", "sending", 60)).toBeNull();
    expect(await kv.setNxGet("claim:a", "other", 60)).toBe("sending");
    expect(await kv.get("claim:a")).toBe("sending");
    expect(proxy.requests.slice(0, 2).map((r) => r.commands)).toEqual([["set"], ["set"]]);
    expect(proxy.requests[0]?.args[0]).toEqual(["set", "claim:a", "sending", "nx", "get", "ex", "60"]);
  });

  it("sets the TTL only when it stores, and returns digit-only values as strings", async () => {
    expect(await kv.setNxGet("claim:b", "123456", 30)).toBeNull();
    expect(await kv.setNxGet("claim:b", "x", 9999)).toBe("123456");
    const ttl = await createUpstashRedis({ url: env.restUrl, token: env.restToken, timeoutMs: 2000 }).ttl(
      "claim:b",
    );
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30);
  });
});
