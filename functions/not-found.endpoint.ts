import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint } from "../shared/http/endpoint";

/**
 * API Gateway's `$default` route (and the local server's unmatched requests): 404, or 405 with
 * `Allow` for a known path, problem+json with the security headers. `routes.json` comes from
 * `npm run openapi`.
 */
export const spec = defineEndpoint({
  name: "not-found",
  routes: [],
  auth: "none",
  gatewayDefault: true,
  runtime: "node",
  memoryMB: 256,
  timeoutSeconds: 5,
  secrets: [...REDIS_SECRETS],
  copyFiles: [{ from: ".build/routes.json", to: "routes.json" }],
});
