/**
 * Issue #15 "Done when", against the local runtime (every function on a real port, redis-server
 * behind the Upstash bridge, the QStash emulator delivering signed requests, SQLite, mail capture):
 * the emulator holds the four schedules; a lost Bloom key is rebuilt by `bloom-rebuild` with every
 * user able to log in before and after; an account left unverified past the TTL (clock moved) is
 * purged and its address registers again; every job run twice gives the same result. Jobs run with
 * `JOB_TIME_BUDGET_MS=0` and `JOB_BATCH_SIZE=2`, so a run is several parts chained by continuations.
 */
import { randomBytes } from "node:crypto";
import { Client } from "@upstash/qstash";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scheduleIdOf } from "../../infra/schedules";
import { createBloomFilter } from "../../shared/accounts/bloom-filter";
import { redisKeys } from "../../shared/accounts/keys";
import { login, newUser, signUpVerified } from "../fixtures/accounts";
import { manualClock } from "../fixtures/context";
import { send } from "../helpers/api-client";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { emulatorOf, publishRun, triggerSchedule } from "../helpers/jobs";
import { startTestServer, type TestServer } from "../helpers/local-server";

const clock = manualClock();
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer(
    { RATE_LIMITS: GENEROUS_RATE_LIMITS, JOB_TIME_BUDGET_MS: "0", JOB_BATCH_SIZE: "2" },
    { nowMs: clock.nowMs },
  );
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const JOBS = ["audit-retention", "bloom-rebuild", "purge-unverified", "rotate-keys"];

async function register(kind: string, user = newUser()) {
  const res = await send(server, `/${kind}/create`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(user),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return user;
}

async function emailIndexOf(kind: string, email: string): Promise<string> {
  const { blindIndex } = await server.context.accountDeps("blindIndex");
  return blindIndex(kind, email);
}

function emailBloom(kind: string) {
  const { bloom } = server.context.config;
  return createBloomFilter(server.context.kv(), {
    key: redisKeys.emailBloom(kind),
    capacity: bloom.capacity,
    falsePositiveRate: bloom.falsePositiveRate,
  });
}

describe("schedules", () => {
  it("the emulator lists the four job schedules, with stable ids and the manifest's crons", async () => {
    const { url, token } = emulatorOf();
    const client = new Client({ baseUrl: url, token, devMode: false, enableTelemetry: false });
    const schedules = await client.schedules.list();
    const appUrl = server.context.config.appUrl;
    const byId = new Map(schedules.map((s) => [s.scheduleId, s]));
    expect(schedules).toHaveLength(4);
    const crons: Record<string, string> = {};
    for (const fn of server.manifest) if (fn.schedule) crons[fn.endpoint.name] = fn.schedule;
    for (const job of JOBS) {
      const schedule = byId.get(scheduleIdOf(`job-${job}`, appUrl));
      expect(schedule, job).toBeDefined();
      expect(schedule?.destination).toBe(`${appUrl}/jobs/${job}`);
      expect(schedule?.cron).toBe(crons[`job-${job}`]);
      expect(schedule?.isPaused).toBe(false);
    }
  });
});

describe("bloom-rebuild", () => {
  it("restores a deleted Bloom key from the store; every user logs in before and after", async () => {
    const users = [
      await signUpVerified(server, "User1"),
      await signUpVerified(server, "User1"),
      await signUpVerified(server, "User1"),
    ];
    const other = await signUpVerified(server, "User2");
    const filter = emailBloom("User1");
    await server.context.kv().del(filter.storageKey);
    const indexes = await Promise.all(users.map((u) => emailIndexOf("User1", u.email)));
    const strangerIndex = await emailIndexOf("User1", `nobody.${randomBytes(6).toString("hex")}@example.com`);
    for (const index of indexes) expect(await filter.probe(index)).toBe("unknown");
    for (const user of [...users]) await login(server, "User1", user);
    await login(server, "User2", other);

    const run = await triggerSchedule(server, "bloom-rebuild");
    expect(run.part).toBeGreaterThanOrEqual(2); // one part per kind at least: continued through QStash
    expect(run.counts.items).toBeGreaterThanOrEqual(4);
    for (const index of indexes) expect(await filter.probe(index)).toBe("maybe");
    // Complete again: an address never registered is certainly absent (the store is not read).
    expect(await filter.probe(strangerIndex)).toBe("absent");
    const report = run.reports.User1 as Record<string, number>;
    expect(report.fill).toBeGreaterThan(0);
    expect(report.estimated_false_positive_rate).toBeLessThan(server.context.config.bloom.falsePositiveRate);
    for (const user of users) await login(server, "User1", user);
    await login(server, "User2", other);

    // Twice: the same bitmap.
    const before = await filter.stats();
    const again = await publishRun(server, "bloom-rebuild");
    expect(again.counts.items).toBe(run.counts.items);
    expect(await filter.stats()).toEqual(before);
    expect(await filter.probe(strangerIndex)).toBe("absent");
  }, 60_000);

  it("rebuilds one kind on demand and leaves the other kind's filter alone", async () => {
    const user2 = emailBloom("User2");
    await server.context.kv().del(user2.storageKey);
    const run = await publishRun(server, "bloom-rebuild", { kind: "User1" });
    expect(Object.keys(run.reports)).toEqual(["User1"]);
    expect(await server.context.kv().get(user2.storageKey)).toBeNull();
  }, 30_000);
});

describe("purge-unverified", () => {
  it("purges an account left unverified past the TTL (clock moved), audits it, and frees its address", async () => {
    const store = await server.context.store();
    const stale = await register("User1");
    const verified = await signUpVerified(server, "User1");
    const staleIndex = await emailIndexOf("User1", stale.email);
    const staleRecord = await store.findByEmailIndex("User1", staleIndex);
    expect(staleRecord).not.toBeNull();

    const early = await triggerSchedule(server, "purge-unverified");
    expect(early.counts.purged ?? 0).toBe(0);
    expect(await store.findByEmailIndex("User1", staleIndex)).not.toBeNull();

    clock.advanceSeconds(72 * 3600 + 60);
    const fresh = await register("User1"); // unverified, but new: kept
    const run = await triggerSchedule(server, "purge-unverified");
    expect(run.counts.purged).toBeGreaterThanOrEqual(1);
    expect(await store.findByEmailIndex("User1", staleIndex)).toBeNull();
    expect(await store.findByEmailIndex("User1", await emailIndexOf("User1", verified.email))).not.toBeNull();
    expect(await store.findByEmailIndex("User1", await emailIndexOf("User1", fresh.email))).not.toBeNull();
    await login(server, "User1", verified);
    const audit = await (await server.context.auditLog()).listForActor(
      "User1",
      staleRecord?.id as string,
      10,
    );
    expect(audit.map((e) => [e.action, e.outcome, e.code])).toContainEqual([
      "account_purge",
      "success",
      "unverified_expired",
    ]);

    // Twice: nothing more to purge.
    const again = await publishRun(server, "purge-unverified");
    expect(again.counts.purged ?? 0).toBe(0);

    // The address registers again: a new account, and its verification mail.
    await register("User1", { ...stale, first_name: "Again" });
    const successor = await store.findByEmailIndex("User1", staleIndex);
    expect(successor?.id).toBeDefined();
    expect(successor?.id).not.toBe(staleRecord?.id);
    await server.waitForEmail(stale.email, (e) => e.links.some((l) => l.includes("/User1/verify?token=")));
  }, 60_000);
});

describe("audit-retention", () => {
  it("deletes audit events older than AUDIT_RETENTION_DAYS and keeps the rest; twice is the same", async () => {
    const auditLog = await server.context.auditLog();
    const now = clock.nowMs();
    const old = {
      kind: "User1",
      action: "login",
      outcome: "failure",
      actor: "usr_old",
      client: null,
      code: null,
      requestId: null,
    } as const;
    await auditLog.record({
      ...old,
      id: `aud_${randomBytes(16).toString("base64url")}`,
      atMs: now - 91 * 86_400_000,
    });
    await auditLog.record({
      ...old,
      id: `aud_${randomBytes(16).toString("base64url")}`,
      atMs: now - 89 * 86_400_000,
    });
    const run = await triggerSchedule(server, "audit-retention");
    expect(run.counts.deleted).toBeGreaterThanOrEqual(1);
    expect((await auditLog.listForActor("User1", "usr_old", 10)).map((e) => e.atMs)).toEqual([
      now - 89 * 86_400_000,
    ]);
    const again = await publishRun(server, "audit-retention");
    expect(again.counts.deleted).toBe(0);
    expect(await auditLog.listForActor("User1", "usr_old", 10)).toHaveLength(1);
  }, 30_000);
});
