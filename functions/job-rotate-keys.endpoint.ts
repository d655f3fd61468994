import { QSTASH_SIGNING_SECRETS, REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, JOB_FUNCTION } from "../shared/http/endpoint";

/** Scheduled job (hourly at :37 (and on demand): re-wraps every record's data key under the active ring key); `POST /jobs/rotate-keys`, QStash only. */
export const spec = defineEndpoint({
  name: "job-rotate-keys",
  routes: [{ method: "POST", path: "/jobs/rotate-keys" }],
  schedule: "37 * * * *",
  secrets: [...REDIS_SECRETS, ...QSTASH_SIGNING_SECRETS, "QstashToken", "MongoUrl", "EncryptionKey"],
  ...JOB_FUNCTION,
});
