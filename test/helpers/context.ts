import { buildOpenApiDocument } from "../../infra/openapi";
import { parseConfig } from "../../shared/config/schema";
import type { FunctionContext } from "../../shared/http/context";
import { createContext } from "../../shared/wiring/context";
import { PASSWORD_SETTER } from "../../shared/wiring/passwords";
import { testEnv } from "./env";

/**
 * A function context for tests, on the real composition root, from a complete test environment
 * plus `overrides` (no `process.env` involved). Its OpenAPI document is built from the manifest,
 * as the local runtime does. Nothing behind it runs: for specs that drive the account flows, use
 * `startTestApp()` (`test/fixtures/context.ts`: real Redis and SQLite, a capturing notifier, a
 * manual clock, every function routed in process).
 */
export function testContext(overrides: Record<string, string> = {}): FunctionContext {
  const config = parseConfig(testEnv(overrides));
  const context: FunctionContext = createContext(config, {
    ...PASSWORD_SETTER,
    apiDocument: () =>
      buildOpenApiDocument({
        title: config.appName,
        serverUrl: config.appUrl,
        userKinds: config.userKinds,
        context,
      }),
  });
  return context;
}
