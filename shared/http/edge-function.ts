import { type Config, parseConfig } from "../config/schema";
import { createLogger, type Logger } from "../observability/logger";
import { type AppEnv, createFunctionApp, functionAppOptions } from "./app";
import type { EndpointSpec } from "./endpoint";
import type { CreateApp } from "./function-app";
import type { RouteApp } from "./route-app";

/**
 * What an `edge` function is built from: configuration and a logger only. No adapter context, so
 * nothing Node-only (drivers, native Argon2, twilio) is reachable from an edge function and it
 * bundles for any Web-standard runtime (DESIGN.md §2).
 */
export interface EdgeContext {
  config: Config;
  log: Logger;
}

/**
 * The default context of an edge function, from `process.env` where the runtime has one (Lambda,
 * Node), else from `globalThis.__ENV__` (set by a Workers-style entry before the first request),
 * restricted to the secrets its spec is granted. Edge functions are granted none (they read no
 * linked secret: `sst/resource` is Node-only), so on AWS they need nothing but plain variables.
 * @throws ConfigError when the environment is invalid.
 */
export function edgeContext(spec: Pick<EndpointSpec, "secrets">): EdgeContext {
  const g = globalThis as {
    process?: { env?: Record<string, string | undefined> };
    __ENV__?: Record<string, string>;
  };
  const config = parseConfig(g.process?.env ?? g.__ENV__ ?? {}, { secrets: spec.secrets });
  return { config, log: createLogger({ level: config.logLevel }) };
}

/**
 * Defines an `edge` function's app factory: the same cross-cutting app as every function, built
 * from an {@link EdgeContext}.
 * @returns `createApp(ctx)`.
 */
export function defineEdgeFunction(
  spec: Pick<EndpointSpec, "name">,
  register: (app: RouteApp<AppEnv>, ctx: EdgeContext) => void,
): CreateApp<EdgeContext> {
  return (ctx) => {
    const app = createFunctionApp(functionAppOptions(spec.name, ctx.config, ctx.log));
    register(app, ctx);
    return app;
  };
}
