import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint } from "../shared/http/endpoint";

/** Liveness: `GET /health`, public and cheap. */
export const spec = defineEndpoint({
  name: "health",
  routes: [{ method: "GET", path: "/health" }],
  auth: "none",
  rateLimit: "health",
  runtime: "node",
  memoryMB: 256,
  timeoutSeconds: 10,
  secrets: [...REDIS_SECRETS, "MongoUrl"],
});
