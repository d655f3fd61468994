import { REDIS_SECRETS } from "../shared/config/secrets";
import { DOCS_ROUTE_PATHS, docsCopyFiles } from "../shared/http/docs-assets";
import { defineEndpoint } from "../shared/http/endpoint";

/**
 * OpenAPI document + Swagger UI / ReDoc / Scalar pages. The document is generated at build time
 * (`npm run openapi` writes `openapi.json`, copied into the bundle); the UI bundles (~6 MB) are
 * copied, not bundled, and read from `node_modules` at run time.
 */
export const spec = defineEndpoint({
  name: "docs",
  routes: DOCS_ROUTE_PATHS.map((path) => ({ method: "GET" as const, path })),
  auth: "none",
  undocumented: "documentation page or asset",
  runtime: "node",
  memoryMB: 512,
  timeoutSeconds: 10,
  secrets: [...REDIS_SECRETS],
  copyFiles: [...docsCopyFiles(), { from: ".build/openapi.json", to: "openapi.json" }],
});
