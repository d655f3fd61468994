import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint } from "../shared/http/endpoint";

/** API Gateway's `$default` route: 404 problem+json with the security headers, as locally. */
export const spec = defineEndpoint({
  name: "not-found",
  routes: [],
  auth: "none",
  gatewayDefault: true,
  runtime: "node",
  memoryMB: 256,
  timeoutSeconds: 5,
  secrets: [...REDIS_SECRETS],
});
