import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis";
import type { RateLimitPolicy } from "../config/rate-limits";

/** A sliding-window limit as `@upstash/ratelimit` keeps it. */
export interface SlidingWindowSpec {
  /** The Upstash client the limiter sends its script through. */
  redis: Redis;
  /** Limit and window (seconds) of the policy. */
  policy: Pick<RateLimitPolicy, "limit" | "windowSeconds">;
  /** Key prefix, `<prefix>rl:<policy name>`. */
  prefix: string;
  /** Milliseconds a check may take before the library reports `reason: "timeout"`. */
  timeoutMs: number;
  /** The library's per-instance cache of refused subjects (subject → reset time, epoch ms). */
  ephemeralCache: Map<string, number>;
}

/**
 * One `@upstash/ratelimit` sliding-window limiter, without analytics or telemetry. Its own module
 * so that `rate-limit.ts` can load the library on first use: a dynamic `import()` of the package
 * itself would, in an esbuild chunk, expose only `default` (the package is CommonJS), where this
 * static import gets esbuild's interop.
 */
export function createSlidingWindowLimiter(spec: SlidingWindowSpec): Ratelimit {
  return new Ratelimit({
    redis: spec.redis,
    limiter: Ratelimit.slidingWindow(spec.policy.limit, `${spec.policy.windowSeconds} s`),
    prefix: spec.prefix,
    timeout: spec.timeoutMs,
    ephemeralCache: spec.ephemeralCache,
    analytics: false,
    enableTelemetry: false,
  });
}
