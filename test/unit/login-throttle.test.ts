import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLoginThrottle, type LoginThrottle } from "../../shared/accounts/login-throttle";
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
const ADDRESS = "203.0.113.7";

/** `n` failed attempts: reserved and never released (a wrong password needs no further call). */
async function fail(throttle: LoginThrottle, kind: string, index: string, n: number, subject = ADDRESS) {
  for (let i = 0; i < n; i++) await throttle.reserve(kind, index, subject);
}

// Issue #14 (F3, F6, F9) deliberately replaced `check` + `recordFailure` by one atomic `reserve`
// (counted before the password is verified) and made the low threshold apply per (account,
// address); each test below keeps the property of its predecessor, stated in those terms.
describe("login throttle (real Redis via the Upstash bridge)", () => {
  it("allows the first N attempts of a pair, then refuses it for the base delay", async () => {
    const clock = manualClock();
    const throttle = createLoginThrottle(kv, { now: clock.now });
    const index = freshIndex();
    await fail(throttle, "User1", index, 4);
    expect((await throttle.reserve("User1", index, ADDRESS)).allowed).toBe(true); // the 5th attempt
    expect(await throttle.reserve("User1", index, ADDRESS)).toEqual({
      allowed: false,
      retryAfterSeconds: 30,
    });
  });

  it("doubles the lock with every further attempt, up to the cap", async () => {
    const clock = manualClock();
    const throttle = createLoginThrottle(kv, { now: clock.now, maxDelaySeconds: 200 });
    const index = freshIndex();
    await fail(throttle, "User1", index, 5);
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      const verdict = await throttle.reserve("User1", index, ADDRESS);
      if (verdict.allowed) throw new Error("expected the pair to be locked");
      seen.push(verdict.retryAfterSeconds);
      clock.advanceSeconds(verdict.retryAfterSeconds); // wait the lock out, then fail again
      expect((await throttle.reserve("User1", index, ADDRESS)).allowed).toBe(true);
    }
    expect(seen).toEqual([30, 60, 120, 200, 200]);
  });

  it("locks the pair at the low threshold and the account only at the high one, from any instance", async () => {
    const clock = manualClock();
    const fromInstanceA = createLoginThrottle(kv, { now: clock.now, perAccount: 8 });
    const fromInstanceB = createLoginThrottle(kv, { now: clock.now, perAccount: 8 });
    const index = freshIndex();
    await fail(fromInstanceA, "User1", index, 3, "198.51.100.1");
    await fail(fromInstanceB, "User1", index, 2, "198.51.100.1");
    expect((await fromInstanceA.reserve("User1", index, "198.51.100.1")).allowed).toBe(false);
    expect((await fromInstanceB.reserve("User1", index, "198.51.100.1")).allowed).toBe(false);
    // Another address of the same account is still open: 5 of its 8 account attempts are spent.
    await fail(fromInstanceB, "User1", index, 2, "198.51.100.2");
    expect((await fromInstanceA.reserve("User1", index, "198.51.100.3")).allowed).toBe(true); // the 8th
    const locked = await fromInstanceA.reserve("User1", index, "198.51.100.4");
    expect(locked).toEqual({ allowed: false, retryAfterSeconds: 30 });
    expect((await fromInstanceA.reserve("User1", freshIndex(), "198.51.100.4")).allowed).toBe(true);
  });

  it("a success forgets the pair and refunds the account attempt; reset clears the account", async () => {
    const throttle = createLoginThrottle(kv);
    const index = freshIndex();
    await fail(throttle, "User1", index, 4);
    const verdict = await throttle.reserve("User1", index, ADDRESS);
    if (!verdict.allowed) throw new Error("expected the 5th attempt to be allowed");
    await throttle.succeeded(verdict.attempt); // the right password on the last attempt
    expect(await kv.get(`User1:lt:${index}`)).toBe("4");
    // Counting starts again from zero for the pair: four more failures do not lock it.
    await fail(throttle, "User1", index, 4);
    expect((await throttle.reserve("User1", index, ADDRESS)).allowed).toBe(true);
    expect((await throttle.reserve("User1", index, ADDRESS)).allowed).toBe(false);
    await throttle.reset("User1", index, ADDRESS);
    expect((await throttle.reserve("User1", index, ADDRESS)).allowed).toBe(true);
    expect(await kv.get(`User1:lt:${index}`)).toBe("1");
  });

  it("lifts an account lock that the successful attempt itself set, and no other", async () => {
    const clock = manualClock();
    const throttle = createLoginThrottle(kv, { now: clock.now, perAddress: 2, perAccount: 3 });
    const index = freshIndex();
    await fail(throttle, "User1", index, 1, "192.0.2.1");
    await fail(throttle, "User1", index, 1, "192.0.2.2");
    const owner = await throttle.reserve("User1", index, "192.0.2.9"); // the 3rd: locks the account
    if (!owner.allowed) throw new Error("expected the owner's attempt to be allowed");
    expect((await throttle.reserve("User1", index, "192.0.2.3")).allowed).toBe(false);
    await throttle.succeeded(owner.attempt);
    expect((await throttle.reserve("User1", index, "192.0.2.9")).allowed).toBe(true);
  });

  it("costs one command per reservation, none more for a failure, one for a success", async () => {
    const proxy = await startCountingProxy(env.restUrl);
    try {
      const counted = createUpstashKv(
        createUpstashRedis({ url: proxy.url, token: env.restToken, timeoutMs: 2000 }),
      );
      const throttle = createLoginThrottle(counted);
      const index = freshIndex();
      await throttle.reserve("User1", index, ADDRESS); // warm the script cache (NOSCRIPT + EVAL)
      const verdict = await throttle.reserve("User1", index, ADDRESS);
      if (!verdict.allowed) throw new Error("expected an allowed attempt");
      await throttle.succeeded(verdict.attempt); // cold: NOSCRIPT + EVAL
      proxy.requests.length = 0;
      const again = await throttle.reserve("User1", index, ADDRESS);
      if (!again.allowed) throw new Error("expected an allowed attempt");
      await throttle.succeeded(again.attempt);
      expect(proxy.requests.map((r) => r.commands)).toEqual([["evalsha"], ["evalsha"]]);
    } finally {
      await proxy.close();
    }
  });

  it("isolates kinds: a locked account of one kind does not lock the same index in another", async () => {
    const throttle = createLoginThrottle(kv);
    const index = freshIndex();
    await fail(throttle, "User1", index, 5);
    expect((await throttle.reserve("User1", index, ADDRESS)).allowed).toBe(false);
    await fail(throttle, "User2", index, 4);
    expect((await throttle.reserve("User2", index, ADDRESS)).allowed).toBe(true);
  });

  it("restarts a pair's counting window with every lock, so waiting out the window does not reset the count", async () => {
    const clock = manualClock();
    const throttle = createLoginThrottle(kv, { now: clock.now, windowSeconds: 1, perAddress: 2 });
    const index = freshIndex();
    await fail(throttle, "User1", index, 2);
    const raw = createTestUpstashClient(env);
    // The pair counter lives for the window plus the lock (1 + 30 s), not just the 1-second window.
    expect(await raw.ttl(`User1:lt-pair:${index}|${ADDRESS}`)).toBeGreaterThan(1);
    clock.advanceSeconds(30);
    await throttle.reserve("User1", index, ADDRESS);
    expect(await throttle.reserve("User1", index, ADDRESS)).toEqual({
      allowed: false,
      retryAfterSeconds: 60,
    });
    expect(await raw.ttl(`User1:lt-pair:${index}|${ADDRESS}`)).toBeGreaterThan(30);
    // The account counter keeps its first window: attempts from elsewhere decay (F9).
    expect(await raw.ttl(`User1:lt:${index}`)).toBeLessThanOrEqual(1);
  });

  it("stores no email: only the index and address subject the caller passes appear in the keys", async () => {
    const throttle = createLoginThrottle(kv);
    const index = freshIndex();
    await fail(throttle, "User1", index, 5);
    expect(await kv.get(`User1:lt:${index}`)).toBe("5");
    expect(await kv.get(`User1:lt-pair:${index}|${ADDRESS}`)).toBe("5");
    expect(Number(await kv.get(`User1:lt-pair-lock:${index}|${ADDRESS}`))).toBeGreaterThan(0);
  });

  it("refuses invalid options when built", () => {
    expect(() => createLoginThrottle(kv, { perAddress: 0 })).toThrow(/perAddress/);
    expect(() => createLoginThrottle(kv, { baseDelaySeconds: 60, maxDelaySeconds: 30 })).toThrow(
      /maxDelaySeconds/,
    );
    expect(() => createLoginThrottle(kv, { perAddress: 10, perAccount: 5 })).toThrow(/perAccount/);
  });
});
