import { QSTASH_SIGNING_SECRETS, REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, JOB_FUNCTION } from "../shared/http/endpoint";

/** Scheduled job (daily at 03:17 UTC: rebuilds each kind's email Bloom filter from the store); `POST /jobs/bloom-rebuild`, QStash only. */
export const spec = defineEndpoint({
  name: "job-bloom-rebuild",
  routes: [{ method: "POST", path: "/jobs/bloom-rebuild" }],
  schedule: "17 3 * * *",
  secrets: [...REDIS_SECRETS, ...QSTASH_SIGNING_SECRETS, "QstashToken", "MongoUrl"],
  ...JOB_FUNCTION,
});
