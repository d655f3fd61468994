import { handle } from "hono/aws-lambda";
import { defineFunction, lazyApp } from "../shared/http/function-app";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./not-found.endpoint";

/**
 * The HTTP API's `$default` route (`sst.config.ts`): API Gateway sends here every request whose
 * method and path match no manifest route, so an unknown path gets the same answer as locally
 * (`infra/local/runtime.ts`): 404 problem+json (`not_found`, RFC 9457) with the shared security
 * headers, instead of API Gateway's own `{"message":"Not Found"}`. It registers no route: the
 * function app's not-found handler answers every method and path.
 */
export const createApp = defineFunction(spec, () => {});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
