import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLoginThrottle } from "../../shared/accounts/login-throttle";
import { createUpstashKv, createUpstashRedis } from "../../shared/adapters/upstash-kv";
import type { Kv } from "../../shared/ports/kv";
import { startCountingProxy } from "../helpers/counting-proxy";
import { createTestUpstashClient, startTestRedis, type TestRedis } from "../helpers/redis";

let env: TestRedis;
let kv: Kv;
beforeAll(async () => {
  env = await startTestRedis();
  kv = createUpstashKv(createUpstashRedis({ url: env.restUrl, token: env.restToken, timeoutMs: 2000 }));
});
afterAll(async () => {
  await env?.stop();
});

/** A clock the test moves by hand, so lock expiry is exercised without waiting. */
function manualClock(startMs = 1_700_000_000_000) {
  let nowMs = startMs;
  return { now: () => nowMs, advanceSeconds: (s: number) => (nowMs += s * 1000) };
}

let seq = 0;
/** A fresh blind-index-like key per test, so tests share no counters. */
const freshIndex = () => `idx${++seq}_${"a".repeat(20)}`;

async function fail(
  throttle: ReturnType<typeof createLoginThrottle>,
  kind: string,
  index: string,
  n: number,
) {
  for (let i = 0; i < n; i++) await throttle.recordFailure(kind, index);
}

describe("per-account login throttle (real Redis via the Upstash bridge)", () => {
  it("allows the first N failures, then refuses the account for the base delay", async () => {
    const clock = manualClock();
    const throttle = createLoginThrottle(kv, { now: clock.now });
    const index = freshIndex();
    await fail(throttle, "User1", index, 4);
    expect(await throttle.check("User1", index)).toEqual({ allowed: true });
    await fail(throttle, "User1", index, 1);
    expect(await throttle.check("User1", index)).toEqual({ allowed: false, retryAfterSeconds: 30 });
  });

  it("doubles the lock with every further failure, up to the cap", async () => {
    const clock = manualClock();
    const throttle = createLoginThrottle(kv, { now: clock.now, maxDelaySeconds: 200 });
    const index = freshIndex();
    await fail(throttle, "User1", index, 5);
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      const verdict = await throttle.check("User1", index);
      if (verdict.allowed) throw new Error("expected the account to be locked");
      seen.push(verdict.retryAfterSeconds);
      clock.advanceSeconds(verdict.retryAfterSeconds); // wait the lock out, then fail again
      expect(await throttle.check("User1", index)).toEqual({ allowed: true });
      await throttle.recordFailure("User1", index);
    }
    expect(seen).toEqual([30, 60, 120, 200, 200]);
  });

  it("counts failures per account, not per address: the throttle has no address input at all", async () => {
    // Failures from "different clients" are just calls for the same account index; the 5th locks it.
    const clock = manualClock();
    const fromClientA = createLoginThrottle(kv, { now: clock.now });
    const fromClientB = createLoginThrottle(kv, { now: clock.now });
    const index = freshIndex();
    await fail(fromClientA, "User1", index, 3);
    await fail(fromClientB, "User1", index, 2);
    expect((await fromClientA.check("User1", index)).allowed).toBe(false);
    expect((await fromClientB.check("User1", index)).allowed).toBe(false);
    expect((await fromClientA.check("User1", freshIndex())).allowed).toBe(true);
  });

  it("reset clears the failures and the lock", async () => {
    const throttle = createLoginThrottle(kv);
    const index = freshIndex();
    await fail(throttle, "User1", index, 6);
    expect((await throttle.check("User1", index)).allowed).toBe(false);
    await throttle.reset("User1", index);
    expect(await throttle.check("User1", index)).toEqual({ allowed: true });
    // Counting starts again from zero: four more failures do not lock.
    await fail(throttle, "User1", index, 4);
    expect(await throttle.check("User1", index)).toEqual({ allowed: true });
  });

  it("costs one command per check, and no write for a clean login (reset right after a clean check)", async () => {
    const proxy = await startCountingProxy(env.restUrl);
    try {
      const counted = createUpstashKv(
        createUpstashRedis({ url: proxy.url, token: env.restToken, timeoutMs: 2000 }),
      );
      const throttle = createLoginThrottle(counted);
      const index = freshIndex();
      expect(await throttle.check("User1", index)).toEqual({ allowed: true });
      await throttle.reset("User1", index);
      expect(proxy.requests.map((r) => r.commands)).toEqual([["mget"]]);
    } finally {
      await proxy.close();
    }
  });

  it("still deletes on reset when the check saw failures, when another failure came between, or when the check is old", async () => {
    const clock = manualClock();
    const throttle = createLoginThrottle(kv, { now: clock.now });
    const other = createLoginThrottle(kv, { now: clock.now }); // a second instance
    const seen = freshIndex();
    await fail(throttle, "User1", seen, 2);
    await throttle.check("User1", seen);
    await throttle.reset("User1", seen);
    expect(await kv.get(`User1:lt:${seen}`)).toBeNull();

    const racing = freshIndex();
    await throttle.check("User1", racing); // clean
    await fail(throttle, "User1", racing, 1); // a failure on this instance forgets "clean"
    await throttle.reset("User1", racing);
    expect(await kv.get(`User1:lt:${racing}`)).toBeNull();

    const stale = freshIndex();
    await throttle.check("User1", stale); // clean, then another instance records failures
    await fail(other, "User1", stale, 6);
    clock.advanceSeconds(60); // e.g. a password reset a minute later on this instance
    await throttle.reset("User1", stale);
    expect(await kv.mget([`User1:lt:${stale}`, `User1:lt-lock:${stale}`])).toEqual([null, null]);
  });

  it("isolates kinds: a locked account of one kind does not lock the same index in another", async () => {
    const throttle = createLoginThrottle(kv);
    const index = freshIndex();
    await fail(throttle, "User1", index, 5);
    expect((await throttle.check("User1", index)).allowed).toBe(false);
    expect(await throttle.check("User2", index)).toEqual({ allowed: true });
    await fail(throttle, "User2", index, 4);
    expect(await throttle.check("User2", index)).toEqual({ allowed: true });
  });

  it("restarts the counting window with every lock, so waiting out the window does not reset the count", async () => {
    // windowSeconds 1: without the restart the counter would vanish one second after the first failure.
    const clock = manualClock();
    const throttle = createLoginThrottle(kv, { now: clock.now, windowSeconds: 1, maxFailures: 2 });
    const index = freshIndex();
    await fail(throttle, "User1", index, 2);
    const raw = createTestUpstashClient(env);
    // The counter lives for the window plus the lock (1 + 30 s), not just the 1-second window.
    expect(await raw.ttl(`User1:lt:${index}`)).toBeGreaterThan(1);
    clock.advanceSeconds(30);
    await throttle.recordFailure("User1", index);
    expect(await throttle.check("User1", index)).toEqual({ allowed: false, retryAfterSeconds: 60 });
    expect(await raw.ttl(`User1:lt:${index}`)).toBeGreaterThan(30);
  });

  it("stores no email: only the index the caller passes appears in the keys", async () => {
    const throttle = createLoginThrottle(kv);
    const index = freshIndex();
    await fail(throttle, "User1", index, 5);
    expect(await kv.get(`User1:lt:${index}`)).toBe("5");
    expect(Number(await kv.get(`User1:lt-lock:${index}`))).toBeGreaterThan(0);
  });

  it("refuses invalid options when built", () => {
    expect(() => createLoginThrottle(kv, { maxFailures: 0 })).toThrow(/maxFailures/);
    expect(() => createLoginThrottle(kv, { baseDelaySeconds: 60, maxDelaySeconds: 30 })).toThrow(
      /maxDelaySeconds/,
    );
  });
});
