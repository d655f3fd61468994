import * as z from "zod";
import { intIn } from "./fields";
import type { Section } from "./section";

/** How the scheduled jobs (`shared/jobs/`) work: what they remove, and how much one delivery does. */
export interface JobsConfig {
  jobs: {
    /** An account whose email is still unverified this many hours after sign-up is purged. */
    unverifiedAccountTtlHours: number;
    /** Records (or email indexes × 10) one batch of a job reads; the job saves its progress after each batch. */
    batchSize: number;
    /**
     * Wall-clock time one delivery works before it publishes its continuation, milliseconds; the
     * effective budget is never more than the function's timeout minus 10 s. `undefined`: derived
     * from the timeout alone. `0`: one batch per delivery (tests).
     */
    timeBudgetMs: number | undefined;
  };
}

/** Variables of the jobs section. */
export const jobsEnv = z.object({
  UNVERIFIED_ACCOUNT_TTL_HOURS: intIn(1, 8760, 72),
  JOB_BATCH_SIZE: intIn(1, 1000, 200),
  JOB_TIME_BUDGET_MS: intIn(0, 900_000, -1),
});

/** Maps the jobs variables. */
export function parseJobs(env: z.output<typeof jobsEnv>): Section<JobsConfig> {
  return {
    value: {
      jobs: {
        unverifiedAccountTtlHours: env.UNVERIFIED_ACCOUNT_TTL_HOURS,
        batchSize: env.JOB_BATCH_SIZE,
        timeBudgetMs: env.JOB_TIME_BUDGET_MS < 0 ? undefined : env.JOB_TIME_BUDGET_MS,
      },
    },
    problems: [],
  };
}
