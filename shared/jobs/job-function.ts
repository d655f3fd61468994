/**
 * The function of a scheduled job (`functions/job-<name>.ts`): `POST /jobs/<name>`, called by
 * QStash (its schedule, or the job's own continuation), behind the same gate as the notification
 * deliveries (`requireQstashSignature`, `shared/http/signature-guard.ts`): the signature is
 * verified over the raw body against the configured public URL `${APP_URL}/jobs/<name>` before the
 * body is even parsed; rejections are limited per address and audited aggregated. Then one part of the run is worked by `runJobPart` (`runner.ts`).
 *
 * Answers: 200 `{status: "done" | "duplicate", job, run, part, counts, reports}`, 202
 * `{status: "continued", …}` (the next part is published), 401 `invalid_signature` (nothing done),
 * 400/422 for a signed body that is not a job message, 503/500 when a dependency or a step failed
 * (QStash retries; the retry resumes from the saved progress).
 */
import { lazy } from "../async";
import { AuthError, invalidField } from "../errors";
import type { EndpointSpec } from "../http/endpoint";
import { type CreateApp, defineFunction } from "../http/function-app";
import { requireQstashSignature } from "../http/signature-guard";
import type { Job } from "./job";
import { type JobMessageBody, jobMessageSchema } from "./progress";
import { runJobPart } from "./runner";

/** Time left to the platform after a part's budget: for the continuation publish and the response, milliseconds. */
export const BUDGET_MARGIN_MS = 10_000;

/**
 * The wall-clock budget of one part, milliseconds: `JOB_TIME_BUDGET_MS` when set, never more than
 * the function's timeout minus {@link BUDGET_MARGIN_MS} (and never negative).
 */
export function partBudgetMs(timeoutSeconds: number, configuredMs: number | undefined): number {
  const ceiling = Math.max(0, timeoutSeconds * 1000 - BUDGET_MARGIN_MS);
  return configuredMs === undefined ? ceiling : Math.min(configuredMs, ceiling);
}

/** Parses a signed job message: an empty body (a schedule's) is `{}`. @throws AuthError 400/422. */
function parseJobMessage(rawBody: string): JobMessageBody {
  let value: unknown = {};
  if (rawBody.trim() !== "") {
    try {
      value = JSON.parse(rawBody);
    } catch (cause) {
      throw new AuthError("malformed_body", { cause });
    }
  }
  const parsed = jobMessageSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidField(String(issue?.path[0] ?? "body"), issue?.message ?? "invalid", "invalid");
  }
  return parsed.data;
}

/**
 * Defines a job function from its endpoint spec (`schedule`, `timeoutSeconds`) and its job.
 * @returns `createApp(ctx)`.
 * @throws Error when the spec's one route is not `POST /jobs/<job name>` or its auth is not `signature`.
 */
export function defineJobFunction<D>(
  spec: Pick<EndpointSpec, "name" | "timeoutSeconds" | "routes" | "auth">,
  job: Job<D>,
): CreateApp {
  const path = `/jobs/${job.name}`;
  if (spec.auth !== "signature" || spec.routes.length !== 1 || spec.routes[0]?.path !== path)
    throw new Error(`${spec.name}: a job function has auth "signature" and the one route POST ${path}`);
  return defineFunction(spec, (app, ctx) => {
    const { config } = ctx;
    const url = `${config.appUrl}${path}`;
    const missing = [
      ...(config.qstash.currentSigningKey ? [] : ["QSTASH_CURRENT_SIGNING_KEY"]),
      ...(config.qstash.nextSigningKey ? [] : ["QSTASH_NEXT_SIGNING_KEY"]),
    ];
    if (missing.length > 0) {
      ctx.log.error(`${spec.name} cannot verify deliveries: configuration missing`, {
        event: "config_error",
        function: spec.name,
        code: "provider_not_configured",
        reason: missing.join(","),
      });
    }
    const deps = lazy(() => job.deps(ctx));
    const budgetMs = partBudgetMs(spec.timeoutSeconds, config.jobs.timeBudgetMs);

    const signed = requireQstashSignature({ ctx, url, verifier: () => ctx.qstashVerifier() });
    app.post(path, signed, async (c) => {
      const rawBody = await c.req.text();
      const body = parseJobMessage(rawBody);
      const { nowMs } = await ctx.accountDeps("nowMs");
      const result = await runJobPart(
        job,
        deps,
        {
          kv: ctx.kv(),
          queue: () => ctx.jobQueue(),
          log: c.get("log"),
          metrics: ctx.metrics(),
          nowMs,
          kinds: config.userKinds,
          batchSize: config.jobs.batchSize,
          budgetMs,
          lockTtlSeconds: spec.timeoutSeconds + 30,
        },
        { body, messageId: c.req.header("upstash-message-id") },
      );
      c.header("Cache-Control", "no-store");
      return c.json(result.body, result.status);
    });
  });
}
