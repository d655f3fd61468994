import { QSTASH_SIGNING_SECRETS, REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, JOB_FUNCTION } from "../shared/http/endpoint";

/** Scheduled job (daily at 03:47 UTC: deletes audit events older than `AUDIT_RETENTION_DAYS`); `POST /jobs/audit-retention`, QStash only. */
export const spec = defineEndpoint({
  name: "job-audit-retention",
  routes: [{ method: "POST", path: "/jobs/audit-retention" }],
  schedule: "47 3 * * *",
  secrets: [...REDIS_SECRETS, ...QSTASH_SIGNING_SECRETS, "MongoUrl"], // one step: never continues
  ...JOB_FUNCTION,
});
