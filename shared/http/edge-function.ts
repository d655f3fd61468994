import type { OpenAPIHono } from "@hono/zod-openapi";
import { type Config, parseConfig } from "../config/schema";
import { createLogger } from "../observability/logger";
import { type AppEnv, createFunctionApp } from "./app";

/**
 * Builds an `edge` function's app (DESIGN.md §2): the same cross-cutting app as every function,
 * but without the services container, so nothing Node-only (drivers, native Argon2, twilio) is
 * reachable from it and it bundles for any Web-standard runtime. The environment comes from
 * `process.env` where the runtime has one (Lambda, Node), else from `globalThis.__ENV__`.
 *
 * @throws ConfigError at cold start when the environment is invalid.
 */
export function defineEdgeFunction(
  name: string,
  register: (app: OpenAPIHono<AppEnv>, config: Config) => void,
): OpenAPIHono<AppEnv> {
  const g = globalThis as {
    process?: { env?: Record<string, string | undefined> };
    __ENV__?: Record<string, string>;
  };
  const config = parseConfig(g.process?.env ?? g.__ENV__ ?? {});
  const app = createFunctionApp({
    name,
    bodyLimitBytes: config.http.bodyLimitBytes,
    trustedProxyCount: config.http.trustedProxyCount,
    corsOrigins: config.http.corsOrigins,
    logger: createLogger({ level: config.logLevel }),
  });
  register(app, config);
  return app;
}
