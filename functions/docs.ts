import { handle } from "hono/aws-lambda";
import { buildOpenApiDocument } from "../infra/openapi";
import { registerDocsRoutes } from "../shared/http/docs-site";
import { defineFunction } from "../shared/http/function-app";

/**
 * `GET /openapi.json`, `/docs` (Swagger UI), `/redoc` (ReDoc), `/scalar` (Scalar) and their assets.
 * The OpenAPI 3.1 document is built from the function manifest once per cold start, on the first
 * request for it (it imports every documented function module to read its route definitions).
 * The UI bundles are read from `node_modules` at run time; SST copies them into this function's
 * bundle (`copyFiles` in the manifest entry), so the pages need no CDN and work offline.
 */
export const app = defineFunction("docs", (app, services) => {
  const { config } = services;
  registerDocsRoutes(app, {
    appName: config.appName,
    apiUrl: config.appUrl,
    document: () =>
      buildOpenApiDocument({ title: config.appName, serverUrl: config.appUrl, userKinds: config.userKinds }),
  });
});

export const handler = handle(app);
