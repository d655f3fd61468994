import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint } from "../shared/http/endpoint";

/** Operators only (`OPS_TOKEN`): dependency latencies, Bloom fill, queue reachability, key ring, build. */
export const spec = defineEndpoint({
  name: "health-detailed",
  routes: [{ method: "GET", path: "/health/detailed" }],
  auth: "operator",
  rateLimit: "operations",
  runtime: "node",
  memoryMB: 256,
  timeoutSeconds: 10,
  secrets: [...REDIS_SECRETS, "EncryptionKey", "MongoUrl", "OpsToken", "QstashToken"],
});
