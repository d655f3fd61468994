import { handle } from "hono/aws-lambda";
import * as z from "zod";
import { problemResponsesFor } from "../shared/http/account-schemas";
import { addressLimit } from "../shared/http/address-limit";
import { routeProblemCodes } from "../shared/http/endpoint";
import { defineFunction, lazyApp } from "../shared/http/function-app";
import { OPS_AUTH_SCHEME, registerOpsSecurityScheme, requireOpsToken } from "../shared/http/ops-auth";
import { problems } from "../shared/http/problem";
import { defineRoute } from "../shared/http/route-app";
import { metricFamilies, WINDOW_METRIC } from "../shared/observability/http-metrics";
import {
  DEFAULT_METRICS_WINDOW_MINUTES,
  MAX_METRICS_WINDOW_MINUTES,
  PROMETHEUS_CONTENT_TYPE,
  renderPrometheus,
} from "../shared/observability/metrics";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./metrics.endpoint";

const MetricsQuery = z.object({
  window_minutes: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_METRICS_WINDOW_MINUTES)
    .optional()
    .meta({
      description: `Minutes to sum, 1–${MAX_METRICS_WINDOW_MINUTES}; default ${DEFAULT_METRICS_WINDOW_MINUTES}`,
    }),
});

/**
 * `GET /metrics` (operators only): Prometheus text exposition (format 0.0.4) of the counters every
 * instance writes to Redis, summed over the last `window_minutes` minute buckets (default 60):
 * `auth_http_requests_total{route,method,status_class}`, `auth_events_total{event,kind}` and
 * `auth_metrics_window_seconds`. Values are window sums, typed `gauge` (see `http-metrics.ts`).
 */
export const createApp = defineFunction(spec, (app, ctx) => {
  registerOpsSecurityScheme(app);
  // Per address, before the operator token is checked (policy `operations`).
  app.use("/metrics", addressLimit(ctx, spec.rateLimit).middleware());
  const route = defineRoute({
    method: "get",
    path: "/metrics",
    summary: "Request and security-event counts of all instances, Prometheus text format (operators)",
    description:
      "Requires the operator token (`OPS_TOKEN`); a user's access token is refused. Sums per-minute counters " +
      "kept in Redis for 3 hours, so every instance's traffic is included.",
    tags: ["Operations"],
    security: [{ [OPS_AUTH_SCHEME]: [] }],
    middleware: [requireOpsToken(ctx.config.opsToken)] as const,
    request: { query: MetricsQuery },
    responses: {
      200: {
        description: "Prometheus text exposition format 0.0.4",
        content: { "text/plain": { schema: z.string() } },
      },
      ...problemResponsesFor(routeProblemCodes(spec, { body: false, query: true })),
    },
  });
  app.openapi(route, async (c) => {
    const windowMinutes = c.req.valid("query").window_minutes ?? DEFAULT_METRICS_WINDOW_MINUTES;
    let totals: Map<string, number>;
    try {
      totals = await ctx.metrics().sum(windowMinutes);
    } catch (cause) {
      throw problems.dependencyUnavailable("redis", cause);
    }
    totals.set(WINDOW_METRIC, windowMinutes * 60);
    c.header("Cache-Control", "no-store");
    return c.text(renderPrometheus(totals, metricFamilies(windowMinutes)), 200, {
      "Content-Type": PROMETHEUS_CONTENT_TYPE,
    });
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
