/**
 * `syncSchedules` (what `npm run schedules:sync` and `npm run dev` run) with the real
 * `@upstash/qstash` client against the QStash emulator's schedules API: creates one schedule per
 * scheduled job of the manifest with a stable id, is idempotent, updates a changed or paused one,
 * removes the schedule of a job that no longer exists, and never touches another deployment's.
 */
import { randomBytes } from "node:crypto";
import { Client } from "@upstash/qstash";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildManifest } from "../../infra/functions";
import { type RunningQstashEmulator, startQstashEmulator } from "../../infra/local/qstash-emulator";
import { desiredSchedules, scheduleIdOf, syncSchedules } from "../../infra/schedules";

const APP_URL = "https://auth.example.com";
const token = `qstash_${randomBytes(16).toString("hex")}`;
let emulator: RunningQstashEmulator;
let client: Client;

beforeAll(async () => {
  emulator = await startQstashEmulator({
    token,
    currentSigningKey: `sig_${randomBytes(8).toString("hex")}`,
    nextSigningKey: `sig_${randomBytes(8).toString("hex")}`,
  });
  client = new Client({ baseUrl: emulator.url, token, devMode: false, enableTelemetry: false });
});
afterAll(async () => {
  await emulator?.close();
});

describe("syncSchedules", () => {
  it("creates, keeps, updates and removes this deployment's job schedules, and only those", async () => {
    const desired = desiredSchedules(await buildManifest(["User1"]), APP_URL);
    expect(desired.map((d) => d.scheduleId).sort()).toEqual(
      ["audit-retention", "bloom-rebuild", "purge-unverified", "rotate-keys"].map((j) =>
        scheduleIdOf(`job-${j}`, APP_URL),
      ),
    );
    expect(scheduleIdOf("job-rotate-keys", APP_URL)).toBe("job-rotate-keys--auth-example-com");
    // Another deployment's schedule, and a schedule of a job this deployment no longer has.
    await client.schedules.create({
      scheduleId: "job-bloom-rebuild--staging-example-com",
      destination: "https://staging.example.com/jobs/bloom-rebuild",
      cron: "0 1 * * *",
    });
    await client.schedules.create({
      scheduleId: scheduleIdOf("job-reencrypt", APP_URL),
      destination: `${APP_URL}/jobs/reencrypt`,
      cron: "0 2 * * *",
    });

    const first = await syncSchedules(client, desired, APP_URL);
    expect(first.created.sort()).toEqual(desired.map((d) => d.scheduleId).sort());
    expect(first.removed).toEqual([scheduleIdOf("job-reencrypt", APP_URL)]);
    const listed = await client.schedules.list();
    expect(listed.map((s) => s.scheduleId).sort()).toEqual(
      [...desired.map((d) => d.scheduleId), "job-bloom-rebuild--staging-example-com"].sort(),
    );
    for (const want of desired) {
      const have = listed.find((s) => s.scheduleId === want.scheduleId);
      expect(have).toMatchObject({
        cron: want.cron,
        destination: want.destination,
        method: "POST",
        isPaused: false,
      });
    }

    const second = await syncSchedules(client, desired, APP_URL);
    expect(second).toEqual({
      created: [],
      updated: [],
      unchanged: desired.map((d) => d.scheduleId),
      removed: [],
    });

    const [one, two] = desired as [(typeof desired)[0], (typeof desired)[0]];
    await client.schedules.pause({ schedule: two.scheduleId });
    const changed = desired.map((d) => (d === one ? { ...d, cron: "5 4 * * *" } : d));
    const third = await syncSchedules(client, changed, APP_URL);
    expect(third.updated.sort()).toEqual([one.scheduleId, two.scheduleId].sort());
    expect((await client.schedules.get(one.scheduleId)).cron).toBe("5 4 * * *");
    expect((await client.schedules.get(two.scheduleId)).isPaused).toBe(false);
    expect(await client.schedules.get("job-bloom-rebuild--staging-example-com")).toMatchObject({
      cron: "0 1 * * *",
    });
  });

  it("fails loudly with a wrong token instead of reporting success", async () => {
    const wrong = new Client({
      baseUrl: emulator.url,
      token: "wrong",
      devMode: false,
      enableTelemetry: false,
    });
    await expect(syncSchedules(wrong, [], APP_URL)).rejects.toThrow();
  });
});
