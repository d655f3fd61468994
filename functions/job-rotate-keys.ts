import { handle } from "hono/aws-lambda";
import { lazyApp } from "../shared/http/function-app";
import { defineJobFunction } from "../shared/jobs/job-function";
import { rotateKeysJob } from "../shared/jobs/rotate-keys";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./job-rotate-keys.endpoint";

/** `POST /jobs/rotate-keys`: one part of the job per QStash delivery (see `shared/jobs/rotate-keys.ts`). */
export const createApp = defineJobFunction(spec, rotateKeysJob);
export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
