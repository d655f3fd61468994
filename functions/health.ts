import { handle } from "hono/aws-lambda";
import * as z from "zod";
import { problemResponsesFor } from "../shared/http/account-schemas";
import { addressLimit } from "../shared/http/address-limit";
import { defineFunction, lazyApp } from "../shared/http/function-app";
import { defineRoute } from "../shared/http/route-app";
import { errorFields } from "../shared/observability/logger";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./health.endpoint";

const ServiceStatus = z.enum(["healthy", "unhealthy"]);
const HealthResponse = z
  .object({
    status: ServiceStatus,
    timestamp: z.string().meta({ example: "2026-11-29T12:00:00.000Z" }),
    services: z.object({ database: ServiceStatus, redis: ServiceStatus }),
  })
  .meta({ id: "Health" });

const route = defineRoute({
  method: "get",
  path: "/health",
  summary: "Liveness of the service and its dependencies",
  tags: ["Operations"],
  responses: {
    200: {
      description: "Every dependency answered",
      content: { "application/json": { schema: HealthResponse } },
    },
    503: {
      description: "A dependency did not answer",
      content: { "application/json": { schema: HealthResponse } },
    },
    ...problemResponsesFor(["rate_limited"]),
  },
});

/** How long one dependency may take to answer before it counts as unhealthy, in milliseconds. */
const PROBE_TIMEOUT_MS = 2000;

async function probe(check: () => Promise<void>): Promise<"healthy" | "unhealthy"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timeout")), PROBE_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return "healthy";
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `GET /health`: public and cheap; pings the user store and Redis in parallel. Limited per address
 * (policy `health`, without the global limit), so a flood cannot turn into store and Redis load.
 */
export const createApp = defineFunction(spec, (app, ctx) => {
  app.use(route.path, addressLimit(ctx, spec.rateLimit).middleware());
  app.openapi(route, async (c) => {
    const log = c.get("log");
    const check = (service: string, fn: () => Promise<void>) =>
      probe(fn).catch((err: unknown) => {
        log.warn("health check failed", { service, ...errorFields(err) });
        return "unhealthy" as const;
      });
    const [database, redis] = await Promise.all([
      check("database", async () => (await ctx.store()).ping()),
      check("redis", () => ctx.kv().ping()),
    ]);
    const healthy = database === "healthy" && redis === "healthy";
    const body = {
      status: healthy ? ("healthy" as const) : ("unhealthy" as const),
      timestamp: new Date().toISOString(),
      services: { database, redis },
    };
    return healthy ? c.json(body, 200) : c.json(body, 503);
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
