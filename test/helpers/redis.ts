/**
 * Test helper: a private redis-server on a free port plus the local Upstash-REST bridge in front
 * of it, and a real `@upstash/redis` client pointed at the bridge. Never touches the shared Redis
 * on 6379.
 */
import { randomBytes } from "node:crypto";
import { Redis, type RedisConfigNodejs } from "@upstash/redis";
import { startRedisServer } from "../../infra/local/redis-server";
import { startUpstashBridge, type UpstashBridgeCounters } from "../../infra/local/upstash-bridge";

/** Connection details of a throwaway Redis and its Upstash-REST bridge. */
export interface TestRedis {
  /** `redis://:PASSWORD@127.0.0.1:PORT` of the private redis-server (it requires the password). */
  redisUrl: string;
  /** `http://127.0.0.1:PORT` of the bridge (UPSTASH_REDIS_REST_URL). */
  restUrl: string;
  /** Random bearer token the bridge accepts (UPSTASH_REDIS_REST_TOKEN). */
  restToken: string;
  /** The bridge's round-trip and command counters (monotonic; take deltas). */
  counters(): UpstashBridgeCounters;
  /** Closes the bridge, then stops redis-server. */
  stop(): Promise<void>;
}

/**
 * Spawns a fresh in-memory redis-server and a bridge with a random 32-byte token.
 * Call `stop()` in `afterAll`.
 *
 * @throws Error with install hints when redis-server is not on PATH.
 */
export async function startTestRedis(): Promise<TestRedis> {
  const server = await startRedisServer();
  const restToken = randomBytes(32).toString("base64url");
  try {
    const bridge = await startUpstashBridge({ redisUrl: server.url, token: restToken });
    return {
      redisUrl: server.url,
      restUrl: bridge.url,
      restToken,
      counters: () => bridge.counters(),
      async stop() {
        await bridge.close();
        await server.stop();
      },
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/**
 * A real `@upstash/redis` client for the bridge: no retries (a failure shows at once instead of
 * after ~4 s of backoff) and no telemetry headers. `opts` override any client option, e.g.
 * `{ enableAutoPipelining: false }` or `{ responseEncoding: false }`.
 */
export function createTestUpstashClient(
  env: Pick<TestRedis, "restUrl" | "restToken">,
  opts: Partial<RedisConfigNodejs> = {},
): Redis {
  return new Redis({
    url: env.restUrl,
    token: env.restToken,
    retry: false,
    enableTelemetry: false,
    ...opts,
  });
}
