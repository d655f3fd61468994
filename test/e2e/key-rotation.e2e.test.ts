/**
 * Issue #15 "Done when", key rotation, against the local runtime restarted on one data directory:
 * with a ring `k1` active, then `k2` added as active, `rotate-keys` (its QStash schedule fired, the
 * run chained over several parts) leaves no record under `k1`, even when a part dies mid-way and
 * QStash delivers it again; run twice, it changes nothing more; and with `k1` removed from the ring
 * every record still reads and every user logs in. `/health/detailed` counts the records per key id.
 */

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openUser } from "../../shared/accounts/user-codec";
import type { UserRecord, UserStore } from "../../shared/ports/user-store";
import { login, newUser, signUpVerified } from "../fixtures/accounts";
import { send } from "../helpers/api-client";
import { GENEROUS_RATE_LIMITS, testEnv } from "../helpers/env";
import { triggerSchedule } from "../helpers/jobs";
import { startTestServer, type TestServer } from "../helpers/local-server";

const dataDir = mkdtempSync(join(tmpdir(), "auth-rotation-"));
const K1 = `k1:${randomBytes(32).toString("base64")}`;
const K2 = `k2:${randomBytes(32).toString("base64")}`;
// The same secrets on every start (only the ring changes), so tokens, blind indexes and data survive.
const { JWT_SECRET, EMAIL_SALT, OPS_TOKEN } = testEnv();
const base = {
  JWT_SECRET: JWT_SECRET as string,
  EMAIL_SALT: EMAIL_SALT as string,
  OPS_TOKEN: OPS_TOKEN as string,
  RATE_LIMITS: GENEROUS_RATE_LIMITS,
  JOB_TIME_BUDGET_MS: "0",
  JOB_BATCH_SIZE: "2",
};
let server: TestServer | undefined;

async function start(keys: string, active: string): Promise<TestServer> {
  await server?.stop();
  server = await startTestServer(
    { ...base, ENCRYPTION_KEYS: keys, ENCRYPTION_ACTIVE_KEY_ID: active },
    { dataDir },
  );
  return server;
}

afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function allRecords(store: UserStore, kind: string): Promise<UserRecord[]> {
  return (await store.scan(kind, {}, { afterId: null, limit: 1000 })).records;
}

async function keyUsage(s: TestServer) {
  const res = await send(s, "/health/detailed", { headers: { authorization: `Bearer ${base.OPS_TOKEN}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { key_ring: { records: Record<string, unknown> } }).key_ring.records;
}

describe("rotate-keys", () => {
  it("moves every record from k1 to k2, survives a part dying mid-way, and k1 can then be removed", async () => {
    let s = await start(K1, "k1");
    const verified = [await signUpVerified(s, "User1"), await signUpVerified(s, "User1")];
    const other = await signUpVerified(s, "User2");
    for (const user of [newUser(), newUser(), newUser()]) {
      const res = await send(s, "/User1/create", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(user),
      });
      expect(res.status).toBe(201);
    }
    expect(await keyUsage(s)).toEqual({
      User1: { by_key_id: { k1: 5 }, other: 0 },
      User2: { by_key_id: { k1: 1 }, other: 0 },
    });

    s = await start(`${K1},${K2}`, "k2");
    expect(await keyUsage(s)).toEqual({
      User1: { by_key_id: { k1: 5, k2: 0 }, other: 0 },
      User2: { by_key_id: { k1: 1, k2: 0 }, other: 0 },
    });
    // The part working on the third record dies (as a Lambda killed mid-way would): it answers
    // 5xx, QStash delivers it again, and the retry resumes from the saved progress.
    const store = await s.context.store();
    const update = store.update.bind(store);
    let updates = 0;
    store.update = async (...args) => {
      updates += 1;
      if (updates === 3) throw new Error("killed mid-way");
      return update(...args);
    };
    const run = await triggerSchedule(s, "rotate-keys");
    expect(updates).toBeGreaterThan(3);
    expect(run.part).toBeGreaterThanOrEqual(3);
    expect(run.counts).toMatchObject({ rewrapped: 6, unreadable: 0 });
    expect(run.reports).toEqual({ User1: { remaining: 0 }, User2: { remaining: 0 } });
    expect(await keyUsage(s)).toEqual({
      User1: { by_key_id: { k1: 0, k2: 5 }, other: 0 },
      User2: { by_key_id: { k1: 0, k2: 1 }, other: 0 },
    });

    // Twice: nothing left to move, nothing changes.
    const records = await allRecords(store, "User1");
    const again = await triggerSchedule(s, "rotate-keys");
    expect(again.counts.rewrapped ?? 0).toBe(0);
    expect(await allRecords(store, "User1")).toEqual(records);

    // k1 retired: every record still opens, every user logs in.
    s = await start(K2, "k2");
    const ring = await s.context.keyRing();
    expect(ring.keyIds).toEqual(["k2"]);
    const after = await s.context.store();
    for (const kind of ["User1", "User2"]) {
      for (const record of await allRecords(after, kind)) {
        await expect(openUser(ring, kind, record)).resolves.toMatchObject({ id: record.id });
      }
    }
    for (const user of verified) {
      const { access_token } = await login(s, "User1", user);
      const profile = await send(s, "/User1/", { headers: { authorization: `Bearer ${access_token}` } });
      expect(((await profile.json()) as { email: string }).email).toBe(user.email);
    }
    await login(s, "User2", other);
    expect(await keyUsage(s)).toEqual({
      User1: { by_key_id: { k2: 5 }, other: 0 },
      User2: { by_key_id: { k2: 1 }, other: 0 },
    });
  }, 120_000);
});
