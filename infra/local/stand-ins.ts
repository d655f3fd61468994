/**
 * The local runtime's cloud stand-ins WITHOUT the functions: redis-server behind the Upstash-REST
 * bridge, the QStash emulator and the Resend/Twilio capture, started together so another process
 * can run the functions against them (the load benchmark measures the functions' process alone
 * this way). {@link StandIns.env} is exactly the environment `startLocalRuntime` reads to use
 * external services instead of starting its own (DESIGN.md §8).
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { type RunningProviderCapture, startProviderCapture } from "./provider-capture";
import { type RunningQstashEmulator, startQstashEmulator } from "./qstash-emulator";
import { type RedisServerHandle, startRedisServer } from "./redis-server";
import { startUpstashBridge, type UpstashBridge } from "./upstash-bridge";

/** Running stand-ins. */
export interface StandIns {
  /**
   * `UPSTASH_REDIS_REST_URL`/`_TOKEN`, `QSTASH_URL`/`_TOKEN`/`_CURRENT_SIGNING_KEY`/`_NEXT_SIGNING_KEY`,
   * `RESEND_API_KEY`/`RESEND_BASE_URL`, `TWILIO_SID`/`_AUTH_TOKEN`/`_BASE_URL`/`_NUMBER`: give them
   * to the functions' process.
   */
  env: Record<string, string>;
  /** The spawned redis-server (its `url` for direct connections, its `pid` for CPU accounting). */
  redis: RedisServerHandle;
  bridge: UpstashBridge;
  qstash: RunningQstashEmulator;
  capture: RunningProviderCapture;
  /** Stops everything, in reverse order of start. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startStandIns}. */
export interface StandInsOptions {
  /** Keep Redis data under `<dataDir>/redis`. @default false (memory only) */
  persistRedis?: boolean;
  /** @default ".data" */
  dataDir?: string;
  /** Base of the QStash emulator's retry backoff, milliseconds. @default 500 (as `npm run dev`) */
  qstashRetryBaseDelayMs?: number;
}

const token = (prefix: string) => `${prefix}${randomBytes(24).toString("base64url")}`;

/**
 * Starts redis-server (a free port), the bridge, the QStash emulator and the provider capture on
 * 127.0.0.1 with fresh random credentials.
 * @throws Error when `redis-server` cannot be started or a port cannot be bound (whatever already
 *   started is stopped first).
 */
export async function startStandIns(options: StandInsOptions = {}): Promise<StandIns> {
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const redis = await startRedisServer({
      dataDir: join(options.dataDir ?? ".data", "redis"),
      persist: options.persistRedis ?? false,
    });
    cleanups.push(() => redis.stop());
    const bridge = await startUpstashBridge({ redisUrl: redis.url, token: token("local_") });
    cleanups.push(() => bridge.close());
    const credentials = {
      resendApiKey: token("re_local_"),
      twilioSid: `AC${randomBytes(16).toString("hex")}`,
      twilioAuthToken: randomBytes(16).toString("hex"),
    };
    const capture = await startProviderCapture(credentials);
    cleanups.push(() => capture.close());
    const qstashKeys = { token: token("qstash_local_"), current: token("sig_"), next: token("sig_") };
    const qstash = await startQstashEmulator({
      token: qstashKeys.token,
      currentSigningKey: qstashKeys.current,
      nextSigningKey: qstashKeys.next,
      retryBaseDelayMs: options.qstashRetryBaseDelayMs ?? 500,
    });
    cleanups.push(() => qstash.close());
    return {
      env: {
        UPSTASH_REDIS_REST_URL: bridge.url,
        UPSTASH_REDIS_REST_TOKEN: bridge.token,
        QSTASH_URL: qstash.url,
        QSTASH_TOKEN: qstashKeys.token,
        QSTASH_CURRENT_SIGNING_KEY: qstashKeys.current,
        QSTASH_NEXT_SIGNING_KEY: qstashKeys.next,
        RESEND_API_KEY: credentials.resendApiKey,
        RESEND_BASE_URL: capture.url,
        TWILIO_SID: credentials.twilioSid,
        TWILIO_AUTH_TOKEN: credentials.twilioAuthToken,
        TWILIO_BASE_URL: capture.url,
        TWILIO_NUMBER: "+15005550006",
      },
      redis,
      bridge,
      qstash,
      capture,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
