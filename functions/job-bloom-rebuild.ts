import { handle } from "hono/aws-lambda";
import { lazyApp } from "../shared/http/function-app";
import { bloomRebuildJob } from "../shared/jobs/bloom-rebuild";
import { defineJobFunction } from "../shared/jobs/job-function";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./job-bloom-rebuild.endpoint";

/** `POST /jobs/bloom-rebuild`: one part of the job per QStash delivery (see `shared/jobs/bloom-rebuild.ts`). */
export const createApp = defineJobFunction(spec, bloomRebuildJob);
export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
