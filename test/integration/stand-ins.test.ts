import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StandIns, startStandIns } from "../../infra/local/stand-ins";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { type ServerProcess, startServerProcess } from "../helpers/server-process";

/**
 * The stand-ins alone in this process, the functions in a child process pointed at them through
 * `StandIns.env` (as the load benchmark runs them): the child must use these stand-ins, not start
 * its own, for Redis, QStash and mail.
 */
let standIns: StandIns;
let server: ServerProcess;
beforeAll(async () => {
  standIns = await startStandIns();
  server = await startServerProcess({ ...standIns.env, RATE_LIMITS: GENEROUS_RATE_LIMITS });
});
afterAll(async () => {
  await server?.stop();
  await standIns?.stop();
});

describe("stand-ins in one process, functions in another", () => {
  it("serves a sign-up through this process's bridge, QStash emulator and mail capture", async () => {
    const before = standIns.bridge.counters();
    const email = `stand.ins.${Date.now()}@example.com`;
    const res = await fetch(`${server.url}/User1/create`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        first_name: "Stan",
        last_name: "Dins",
        email,
        phone: "+14155552671",
        country_code: "US",
        password: "Tr0ub4dor&3-horse-Battery",
      }),
      signal: AbortSignal.timeout(15_000),
    });
    expect(res.status).toBe(201);
    await standIns.qstash.drain();
    const mail = standIns.capture.outbox.emails().find((e) => e.to === email);
    expect(mail?.links.some((l) => l.startsWith(`${server.url}/User1/verify?token=`))).toBe(true);
    expect(standIns.qstash.messages().length).toBeGreaterThanOrEqual(1);
    expect(standIns.bridge.counters().requests).toBeGreaterThan(before.requests);
  });
});
