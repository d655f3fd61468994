import * as z from "zod";
import { intIn, optionalMatching, optionalString, optionalUrl } from "./fields";
import { requiredInProduction, type Section, settle } from "./section";

/** Where data lives: Redis (Upstash, or a plain Redis behind the local bridge), the user store, local files. */
export interface StoresConfig {
  redis: {
    /** Upstash REST endpoint; absent locally until the dev runtime starts its bridge. */
    restUrl: string | undefined;
    restToken: string | undefined;
    /** A plain Redis URL (`REDIS_URL`, or built from the seed's `REDIS_HOST`/`REDIS_PORT`) for the local bridge. */
    url: string | undefined;
    /** Per-request timeout for Redis calls, milliseconds. */
    timeoutMs: number;
  };
  /** The user store: MongoDB when `mongoUrl` is set, else the SQLite file at `sqlitePath`. */
  store: { mongoUrl: string | undefined; mongoDb: string; sqlitePath: string };
  /** Sizing of the Bloom filter of registered emails (kept in Redis): expected entries and target false-positive rate. */
  bloom: { capacity: number; falsePositiveRate: number };
  /** Directory of local data (SQLite file, generated dev secrets, Redis data). */
  dataDir: string;
}

/** Variables of the stores section. */
export const storesEnv = z.object({
  UPSTASH_REDIS_REST_URL: optionalUrl,
  UPSTASH_REDIS_REST_TOKEN: optionalString,
  REDIS_URL: optionalMatching(/^rediss?:\/\/\S+$/, "expected redis://host:port"),
  REDIS_HOST: optionalString,
  REDIS_PORT: intIn(1, 65535, 6379),
  REDIS_TIMEOUT_MS: intIn(50, 30_000, 2000),
  BLOOM_CAPACITY: intIn(1000, 1_000_000_000, 1_000_000),
  BLOOM_FALSE_POSITIVE_RATE: z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return 0.01;
      const n = Number(v);
      if (!(n > 0 && n < 0.5)) {
        ctx.addIssue({ code: "custom", message: "expected a number between 0 and 0.5, e.g. 0.01" });
        return z.NEVER;
      }
      return n;
    }),
  MONGO_URL: optionalMatching(/^mongodb(\+srv)?:\/\/\S+$/, "expected a mongodb:// or mongodb+srv:// URL"),
  MONGO_DB: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, "expected a database name")
    .default("auth"),
  DATA_DIR: z.string().trim().min(1).default(".data"),
  SQLITE_PATH: optionalString,
});

/**
 * Maps the store variables: the Redis URL from `REDIS_URL` or `REDIS_HOST`/`REDIS_PORT`, the SQLite
 * path under `DATA_DIR` by default. Production needs Upstash Redis and MongoDB.
 */
export function parseStores(
  env: z.output<typeof storesEnv>,
  { production }: { production: boolean },
): Section<StoresConfig> {
  const problems = production
    ? requiredInProduction(env, [
        ["UPSTASH_REDIS_REST_URL", "Upstash Redis"],
        ["UPSTASH_REDIS_REST_TOKEN", "Upstash Redis"],
        ["MONGO_URL", "user store"],
      ])
    : [];
  return settle(problems, () => ({
    redis: {
      restUrl: env.UPSTASH_REDIS_REST_URL,
      restToken: env.UPSTASH_REDIS_REST_TOKEN,
      url: env.REDIS_URL || (env.REDIS_HOST ? `redis://${env.REDIS_HOST}:${env.REDIS_PORT}` : undefined),
      timeoutMs: env.REDIS_TIMEOUT_MS,
    },
    store: {
      mongoUrl: env.MONGO_URL || undefined,
      mongoDb: env.MONGO_DB,
      sqlitePath: env.SQLITE_PATH ?? `${env.DATA_DIR}/users.sqlite`,
    },
    bloom: { capacity: env.BLOOM_CAPACITY, falsePositiveRate: env.BLOOM_FALSE_POSITIVE_RATE },
    dataDir: env.DATA_DIR,
  }));
}
