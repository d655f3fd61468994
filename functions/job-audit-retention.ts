import { handle } from "hono/aws-lambda";
import { lazyApp } from "../shared/http/function-app";
import { auditRetentionJob } from "../shared/jobs/audit-retention";
import { defineJobFunction } from "../shared/jobs/job-function";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./job-audit-retention.endpoint";

/** `POST /jobs/audit-retention`: one part of the job per QStash delivery (see `shared/jobs/audit-retention.ts`). */
export const createApp = defineJobFunction(spec, auditRetentionJob);
export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
