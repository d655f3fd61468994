/**
 * `npm run job -- <name> [--kind K]` (infra/run-job.ts) as a user runs it, in a child process:
 * through a running dev server's QStash emulator when one runs in the same data folder and PORT
 * (the signed path), else directly against the configured services; exit 0 only when the run
 * finished, non-zero with the reason otherwise.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBloomFilter } from "../../shared/accounts/bloom-filter";
import { redisKeys } from "../../shared/accounts/keys";
import { signUpVerified } from "../fixtures/accounts";
import { GENEROUS_RATE_LIMITS, testEnv } from "../helpers/env";
import { startTestServer, type TestServer } from "../helpers/local-server";

const root = join(import.meta.dirname, "../..");
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMITS: GENEROUS_RATE_LIMITS, JOB_TIME_BUDGET_MS: "0" });
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

/** Runs `tsx infra/run-job.ts …args` with exactly `env` (plus PATH/HOME); resolves its exit code and output. */
function runJob(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "infra/run-job.ts", ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

describe("npm run job", () => {
  it("goes through the running dev server's QStash emulator and exits 0 when the run is done", async () => {
    await signUpVerified(server, "User1");
    const { bloom } = server.context.config;
    const filter = createBloomFilter(server.context.kv(), {
      key: redisKeys.emailBloom("User1"),
      ...bloom,
    });
    await server.context.kv().del(filter.storageKey);
    const result = await runJob(["bloom-rebuild", "--kind", "User1"], {
      DATA_DIR: server.dataDir,
      PORT: new URL(server.url).port,
    });
    expect(result.out).toContain("through the dev server's QStash emulator");
    expect(result.out).toMatch(/bloom-rebuild done \(run run_\S+, 1 part\(s\)\): items=1/);
    expect(result.out).toMatch(/User1: .*fill=/);
    expect(result.code).toBe(0);
    expect((await filter.stats()).setBits).toBeGreaterThan(0);
  }, 60_000);

  it("runs directly against the configured services when no dev server runs there", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "auth-job-cli-"));
    try {
      const result = await runJob(["audit-retention"], testEnv({ DATA_DIR: dataDir, PORT: "1" }));
      expect(result.out).not.toContain("dev server");
      expect(result.out).toMatch(/audit-retention done \(run run_\S+, 1 part\(s\)\): deleted=0/);
      expect(result.code).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it("exits non-zero with the reason for an unknown job or kind", async () => {
    const unknown = await runJob(["reencrypt"], { DATA_DIR: server.dataDir, PORT: new URL(server.url).port });
    expect(unknown.code).not.toBe(0);
    expect(unknown.out).toContain(
      'unknown job "reencrypt"; jobs: audit-retention, bloom-rebuild, purge-unverified, rotate-keys',
    );
    const kind = await runJob(["rotate-keys", "--kind", "Admin"], {
      DATA_DIR: server.dataDir,
      PORT: new URL(server.url).port,
    });
    expect(kind.code).not.toBe(0);
    expect(kind.out).toContain("unknown kind Admin");
    const global = await runJob(["audit-retention", "--kind", "User1"], { DATA_DIR: server.dataDir });
    expect(global.code).not.toBe(0);
    expect(global.out).toContain("audit-retention does not run per kind");
  }, 60_000);
});
