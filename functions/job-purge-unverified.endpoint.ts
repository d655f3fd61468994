import { QSTASH_SIGNING_SECRETS, REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, JOB_FUNCTION } from "../shared/http/endpoint";

/** Scheduled job (hourly at :07: deletes accounts left unverified past `UNVERIFIED_ACCOUNT_TTL_HOURS`); `POST /jobs/purge-unverified`, QStash only. */
export const spec = defineEndpoint({
  name: "job-purge-unverified",
  routes: [{ method: "POST", path: "/jobs/purge-unverified" }],
  schedule: "7 * * * *",
  secrets: [...REDIS_SECRETS, ...QSTASH_SIGNING_SECRETS, "QstashToken", "MongoUrl"],
  ...JOB_FUNCTION,
});
