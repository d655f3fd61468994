import { QSTASH_SIGNING_SECRETS, REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint } from "../shared/http/endpoint";

/**
 * Background SMS delivery: `POST /jobs/sms`. The twilio SDK lives only here; 512 MB buys the CPU
 * to load it faster on a cold start.
 */
export const spec = defineEndpoint({
  name: "notify-sms",
  routes: [{ method: "POST", path: "/jobs/sms" }],
  auth: "signature",
  undocumented: "internal QStash delivery callback",
  runtime: "node",
  memoryMB: 512,
  timeoutSeconds: 30,
  secrets: [
    ...REDIS_SECRETS,
    "EncryptionKey",
    "MongoUrl",
    ...QSTASH_SIGNING_SECRETS,
    "TwilioAuthToken",
    "TwilioSid",
  ],
});
