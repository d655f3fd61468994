import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint } from "../shared/http/endpoint";

/** Operators only (`OPS_TOKEN`): Prometheus text of the counters all instances keep in Redis. */
export const spec = defineEndpoint({
  name: "metrics",
  routes: [{ method: "GET", path: "/metrics" }],
  auth: "operator",
  rateLimit: "operations",
  errors: ["service_unavailable"],
  runtime: "node",
  memoryMB: 256,
  timeoutSeconds: 10,
  secrets: [...REDIS_SECRETS, "OpsToken"],
});
