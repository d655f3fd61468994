import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CapturedEmail, CapturedSms, Outbox } from "../../infra/local/outbox";
import { type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from "../../infra/local/runtime";
import { testEnv } from "./env";

export { type ApiRequestInit, apiClient } from "./api-client";

/** Cloud settings a developer's shell may carry; tests always use the local stand-ins instead. */
const CLOUD_VARS = [
  "UPSTASH_REDIS_REST_URL",
  "UPSTASH_REDIS_REST_TOKEN",
  "REDIS_URL",
  "REDIS_HOST",
  "REDIS_PORT",
  "MONGO_URL",
  "QSTASH_URL",
  "QSTASH_TOKEN",
  "QSTASH_CURRENT_SIGNING_KEY",
  "QSTASH_NEXT_SIGNING_KEY",
  "RESEND_API_KEY",
  "RESEND_BASE_URL",
  "TWILIO_SID",
  "TWILIO_AUTH_TOKEN",
  "TWILIO_BASE_URL",
  "TWILIO_NUMBER",
  "APP_URL",
  "APP_DOMAIN",
  "PORT",
];

/** The local runtime as tests use it: a real server on a free port, its own redis-server, temp data dir. */
export interface TestServer extends LocalRuntime {
  outbox: Outbox;
  dataDir: string;
  /** Waits (polling, ≤ timeoutMs) for an email to `to` matching `match`, newest first. */
  waitForEmail(to: string, match?: (e: CapturedEmail) => boolean, timeoutMs?: number): Promise<CapturedEmail>;
  /** Waits for an SMS to `to`. */
  waitForSms(to: string, match?: (s: CapturedSms) => boolean, timeoutMs?: number): Promise<CapturedSms>;
}

async function poll<T>(find: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Starts the whole local runtime (every manifest function, Upstash bridge over a fresh
 * redis-server, QStash emulator, Resend/Twilio capture) with test-speed Argon2 parameters.
 * The shell's cloud settings ({@link CLOUD_VARS}, `MONGO_URL` included) are removed first, so users
 * go to an SQLite file under the temp data dir; a test that wants a cloud setting passes it in
 * `env` (the MongoDB e2e passes `MONGO_URL` and `MONGO_DB`).
 */
export async function startTestServer(
  env: Record<string, string> = {},
  options: Pick<LocalRuntimeOptions, "onSecretRead"> = {},
): Promise<TestServer> {
  for (const name of CLOUD_VARS) delete process.env[name];
  const dataDir = mkdtempSync(join(tmpdir(), "auth-test-"));
  const runtime = await startLocalRuntime({
    ...options,
    port: 0,
    persistRedis: false,
    env: testEnv({ DATA_DIR: dataDir, ...env }),
  });
  const outbox = runtime.outbox;
  if (!outbox) throw new Error("the local runtime did not start the provider capture");
  return {
    ...runtime,
    outbox,
    dataDir,
    async stop() {
      await runtime.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
    waitForEmail: (to, match = () => true, timeoutMs = 10_000) =>
      poll(() => outbox.emails().find((e) => e.to === to && match(e)), `an email to ${to}`, timeoutMs),
    waitForSms: (to, match = () => true, timeoutMs = 10_000) =>
      poll(() => outbox.sms().find((s) => s.to === to && match(s)), `an SMS to ${to}`, timeoutMs),
  };
}
