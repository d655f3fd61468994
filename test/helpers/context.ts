import { createLocalContext } from "../../infra/local/router";
import type { FunctionContext } from "../../shared/http/context";
import { testEnv } from "./env";

/**
 * A function context for tests, on the real composition root, from a complete test environment
 * plus `overrides` (no `process.env` involved). Its OpenAPI document is built from the manifest,
 * as the local runtime does. Nothing behind it runs: for specs that drive the account flows, use
 * `startTestApp()` (`test/fixtures/context.ts`: real Redis and SQLite, a capturing notifier, a
 * manual clock, every function routed in process).
 */
export function testContext(overrides: Record<string, string> = {}): FunctionContext {
  return createLocalContext(testEnv(overrides));
}
