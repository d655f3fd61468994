import { handle } from "hono/aws-lambda";
import { defineFunction, lazyApp } from "../shared/http/function-app";
import { problemResponse } from "../shared/http/problem";
import { unmatchedRouteError } from "../shared/http/route-table";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./not-found.endpoint";

/**
 * The HTTP API's `$default` route (`sst.config.ts`): API Gateway sends here every request whose
 * method and path match no manifest route; the local server sends the same requests here too, so
 * both answer alike: `405 method_not_allowed` with `Allow` for a known path asked with another
 * method, else `404 not_found` (problem+json, RFC 9457), with the shared security headers, instead
 * of API Gateway's own `{"message":"Not Found"}`. The route table is `routes.json`, generated with
 * the OpenAPI document (`npm run openapi`) and copied into the bundle.
 */
export const createApp = defineFunction(spec, (app, ctx) => {
  const cors = ctx.config.http.corsOrigins.length > 0;
  app.notFound(async (c) => {
    const routes = await ctx.routeTable();
    return problemResponse(
      unmatchedRouteError(routes, c.req.method, c.req.path, { cors }),
      c.get("requestId"),
    );
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
