import { handle } from "hono/aws-lambda";
import * as z from "zod";
import packageJson from "../package.json" with { type: "json" };
import { createBloomFilter } from "../shared/accounts/bloom-filter";
import { redisKeys } from "../shared/accounts/keys";
import { problemResponsesFor } from "../shared/http/account-schemas";
import { addressLimit } from "../shared/http/address-limit";
import { routeProblemCodes } from "../shared/http/endpoint";
import { defineFunction, lazyApp } from "../shared/http/function-app";
import { OPS_AUTH_SCHEME, registerOpsSecurityScheme, requireOpsToken } from "../shared/http/ops-auth";
import { defineRoute } from "../shared/http/route-app";
import { collectDetailedHealth, type DetailedHealthProbes } from "../shared/observability/detailed-health";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./health-detailed.endpoint";

const Status = z.enum(["healthy", "unhealthy"]);
const Dependency = z.object({
  status: Status,
  latency_ms: z
    .number()
    .meta({ description: "Time the probe took (or until its 2 s deadline), milliseconds" }),
  error: z.string().optional().meta({ description: "Why it is unhealthy: `timeout` or an error class name" }),
});
const Bloom = z.object({
  capacity: z.number().int(),
  target_false_positive_rate: z.number(),
  bits: z.number().int(),
  hashes: z.number().int(),
  set_bits: z.number().int().nullable(),
  fill: z.number().nullable().meta({ description: "Share of the bitmap's bits set, 0–1" }),
  estimated_false_positive_rate: z.number().nullable().meta({ description: "fill^hashes, now" }),
  estimated_items: z.number().nullable().meta({ description: "Distinct items estimated from the fill" }),
  error: z.string().optional(),
});
const KeyUsage = z.object({
  by_key_id: z.record(z.string(), z.number().int()).nullable(),
  other: z.number().int().nullable(),
  error: z.string().optional(),
});
const DetailedHealth = z
  .object({
    status: Status,
    timestamp: z.string().meta({ example: "2026-11-29T12:00:00.000Z" }),
    version: z.string().meta({ example: "0.1.0" }),
    build_sha: z.string().nullable().meta({ description: "`BUILD_SHA` of the deployment, if set" }),
    dependencies: z.object({ database: Dependency, redis: Dependency, queue: Dependency }),
    bloom_filters: z
      .record(z.string(), Bloom)
      .meta({ description: "The registered-email filter of each user kind" }),
    key_ring: z.object({
      active_key_id: z.string(),
      key_count: z.number().int(),
      key_ids: z.array(z.string()),
      records: z.record(z.string(), KeyUsage).meta({
        description:
          "Per user kind: how many records each ring key still wraps (`by_key_id`; 0 means the key can be removed once `rotate-keys` has run) and how many are under a key not in the ring (`other`)",
      }),
    }),
  })
  .meta({ id: "DetailedHealth" });

/**
 * `GET /health/detailed` (operators only): what `/health` says plus each dependency's latency
 * (database, Redis, QStash), each kind's email Bloom filter fill and estimated false-positive rate,
 * the key ring's active key id and key ids (never key material) with the records each key still
 * wraps per kind (for key rotation), and the build version.
 */
export const createApp = defineFunction(spec, (app, ctx) => {
  registerOpsSecurityScheme(app);
  // Per address, before the operator token is checked (policy `operations`).
  app.use("/health/detailed", addressLimit(ctx, spec.rateLimit).middleware());
  const { config } = ctx;
  const probes: DetailedHealthProbes = {
    config,
    pingStore: async () => (await ctx.store()).ping(),
    pingRedis: () => ctx.kv().ping(),
    keyRing: () => ctx.keyRing(),
    countRecords: async (kind, query) => (await ctx.store()).count(kind, query),
    emailBloom: (kind) =>
      createBloomFilter(ctx.kv(), {
        key: redisKeys.emailBloom(kind),
        capacity: config.bloom.capacity,
        falsePositiveRate: config.bloom.falsePositiveRate,
      }),
  };
  const route = defineRoute({
    method: "get",
    path: "/health/detailed",
    summary: "Dependency latencies, Bloom filter fill, queue reachability, key ring and build (operators)",
    description:
      "Requires the operator token (`OPS_TOKEN`); a user's access token is refused. 503 when any dependency is unhealthy, with the same body.",
    tags: ["Operations"],
    security: [{ [OPS_AUTH_SCHEME]: [] }],
    middleware: [requireOpsToken(config.opsToken)] as const,
    responses: {
      200: {
        description: "Every dependency answered",
        content: { "application/json": { schema: DetailedHealth } },
      },
      503: {
        description: "A dependency did not answer",
        content: { "application/json": { schema: DetailedHealth } },
      },
      ...problemResponsesFor(routeProblemCodes(spec, { body: false, query: false })),
    },
  });
  app.openapi(route, async (c) => {
    const body = await collectDetailedHealth(probes, {
      version: packageJson.version,
      buildSha: config.buildSha ?? null,
    });
    c.header("Cache-Control", "no-store");
    return body.status === "healthy" ? c.json(body, 200) : c.json(body, 503);
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
