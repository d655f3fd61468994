import { handle } from "hono/aws-lambda";
import { lazyApp } from "../shared/http/function-app";
import { defineJobFunction } from "../shared/jobs/job-function";
import { purgeUnverifiedJob } from "../shared/jobs/purge-unverified";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./job-purge-unverified.endpoint";

/** `POST /jobs/purge-unverified`: one part of the job per QStash delivery (see `shared/jobs/purge-unverified.ts`). */
export const createApp = defineJobFunction(spec, purgeUnverifiedJob);
export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
