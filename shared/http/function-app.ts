import type { OpenAPIHono } from "@hono/zod-openapi";
import { getServices, type Services } from "../services";
import { type AppEnv, createFunctionApp } from "./app";

/**
 * Builds a deployed function's app from the process configuration: the shared cross-cutting app
 * ({@link createFunctionApp}) plus the routes `register` adds. Called once at module load (cold start).
 * Route handlers reach adapters through the `services` passed in; adapters connect lazily. Every
 * request is counted in the cross-instance metrics (`services.metrics()`, Redis on first use).
 *
 * @param name the function's manifest name (logged on every line).
 * @throws ConfigError when the environment is invalid — at cold start, loudly.
 */
export function defineFunction(
  name: string,
  register: (app: OpenAPIHono<AppEnv>, services: Services) => void,
): OpenAPIHono<AppEnv> {
  const services = getServices();
  const { config } = services;
  const app = createFunctionApp({
    name,
    bodyLimitBytes: config.http.bodyLimitBytes,
    trustedProxyCount: config.http.trustedProxyCount,
    corsOrigins: config.http.corsOrigins,
    logger: services.log,
    userKinds: config.userKinds,
    metrics: services.metrics(),
  });
  register(app, services);
  return app;
}
