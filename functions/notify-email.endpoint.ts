import { QSTASH_SIGNING_SECRETS, REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint } from "../shared/http/endpoint";

/**
 * Background email delivery (DESIGN.md §7): `POST /jobs/email`, called by QStash only, verified by
 * signature. 30 s leaves room for a slow provider within QStash's request timeout.
 */
export const spec = defineEndpoint({
  name: "notify-email",
  routes: [{ method: "POST", path: "/jobs/email" }],
  auth: "signature",
  undocumented: "internal QStash delivery callback",
  runtime: "node",
  memoryMB: 256,
  timeoutSeconds: 30,
  secrets: [...REDIS_SECRETS, "EncryptionKey", "MongoUrl", ...QSTASH_SIGNING_SECRETS, "ResendApiKey"],
});
