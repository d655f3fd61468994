import { handle } from "hono/aws-lambda";
import { registerDocsRoutes } from "../shared/http/docs-site";
import { defineFunction, lazyApp } from "../shared/http/function-app";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./docs.endpoint";

/**
 * `GET /openapi.json`, `/docs` (Swagger UI), `/redoc` (ReDoc), `/scalar` (Scalar) and their assets.
 * The OpenAPI 3.1 document comes from the context (`ctx.apiDocument()`): in production the
 * `openapi.json` generated at build time (`npm run openapi`) and copied into this function's
 * bundle, so this function imports no other function; the local runtime builds it from the
 * manifest. The UI bundles are read from `node_modules` at run time; SST copies them into this
 * function's bundle (`copyFiles` in its spec), so the pages need no CDN and work offline.
 */
export const createApp = defineFunction(spec, (app, ctx) => {
  const { config } = ctx;
  registerDocsRoutes(app, {
    appName: config.appName,
    apiUrl: config.appUrl,
    document: () => ctx.apiDocument(),
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
