import { type AppEnv, createFunctionApp, functionAppOptions } from "./app";
import type { FunctionContext } from "./context";
import type { EndpointSpec } from "./endpoint";
import type { RouteApp } from "./route-app";

/** Builds a function's Hono app from a context: what every function module exports as `createApp`. */
export type CreateApp<C = FunctionContext> = (ctx: C) => RouteApp<AppEnv>;

/**
 * Defines a function's app factory: the shared cross-cutting app ({@link createFunctionApp}:
 * request id, logger, security headers, CORS, body limit, client address, problem+json errors,
 * request metrics) plus the routes `register` adds. Nothing connects while the app is built;
 * route handlers reach adapters through `ctx`, whose members are built on first use.
 *
 * @param spec the endpoint spec (its `name` is written on every log line).
 * @returns `createApp(ctx)`; every call builds an independent app.
 */
export function defineFunction(
  spec: Pick<EndpointSpec, "name">,
  register: (app: RouteApp<AppEnv>, ctx: FunctionContext) => void,
): CreateApp {
  return (ctx) => {
    const { config } = ctx;
    const app = createFunctionApp({
      ...functionAppOptions(spec.name, config, ctx.log),
      userKinds: config.userKinds,
      metrics: ctx.metrics(),
    });
    register(app, ctx);
    return app;
  };
}

/**
 * An app built on first use: what a function module exports as `app`. Importing a function module
 * (the local runtime, the OpenAPI generator, a test building `createApp(testContext)`) then never
 * parses the process environment; on Lambda the app is built by the first invocation of the cold
 * start (`handle(app)` reads `app.fetch` per invocation), with the same loud `ConfigError` when
 * the environment is invalid.
 *
 * @param build e.g. `() => createApp(defaultContext())`; called once, on the first property access.
 */
export function lazyApp<A extends object>(build: () => A): A {
  let built: A | undefined;
  const real = (): A => {
    built ??= build();
    return built;
  };
  return new Proxy({} as A, {
    get: (_target, property) => Reflect.get(real(), property),
    has: (_target, property) => Reflect.has(real(), property),
  });
}
