import * as z from "zod";
import { intIn, optionalString } from "./fields";
import { type Section, settle } from "./section";
import { isWeakSecret } from "./weak-secrets";

/** What operators see and reach: logs, the audit trail's retention, the build id and the operator token. */
export interface OperationsConfig {
  /** Bearer token for operator endpoints (`/health/detailed`, `/metrics`). */
  opsToken: string | undefined;
  /** Audit events are kept this many days (SQLite: purged on write; MongoDB: TTL index). */
  audit: { retentionDays: number };
  /** Build identifier reported by `/health/detailed` (e.g. the git commit), if the deploy sets one. */
  buildSha: string | undefined;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
}

/** Variables of the operations section. */
export const operationsEnv = z.object({
  OPS_TOKEN: optionalString,
  AUDIT_RETENTION_DAYS: intIn(1, 3650, 90),
  BUILD_SHA: z
    .string()
    .trim()
    .optional()
    .refine((v) => v === undefined || /^[A-Za-z0-9._-]{0,64}$/.test(v), "expected a commit id or build tag")
    .transform((v) => (v === "" ? undefined : v)),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
});

/** Maps the operations variables; production refuses a weak `OPS_TOKEN` (one that is set). */
export function parseOperations(
  env: z.output<typeof operationsEnv>,
  { production }: { production: boolean },
): Section<OperationsConfig> {
  const weak = production && env.OPS_TOKEN !== undefined && isWeakSecret(env.OPS_TOKEN, 32);
  const problems = weak
    ? [{ variable: "OPS_TOKEN", message: "weak operator token refused in production: use 32+ random bytes" }]
    : [];
  return settle(problems, () => ({
    opsToken: env.OPS_TOKEN,
    audit: { retentionDays: env.AUDIT_RETENTION_DAYS },
    buildSha: env.BUILD_SHA,
    logLevel: env.LOG_LEVEL,
  }));
}
