import type { Redis } from "@upstash/redis";
import type { AccountDeps } from "../accounts/deps";
import type { Config } from "../config/schema";
import type { SecretName } from "../config/secrets";
import type { KeyRing } from "../crypto/envelope";
import type { AuditRecorder } from "../observability/audit";
import type { Logger } from "../observability/logger";
import type { Metrics } from "../observability/metrics";
import type { AuditLog } from "../ports/audit";
import type { Kv } from "../ports/kv";
import type { Queue } from "../ports/notifications";
import type { UserStore } from "../ports/user-store";
import type { OpenApiDocument } from "./openapi";
import type { ApiRoute } from "./route-table";

/**
 * What a function app is built from (`createApp(ctx)`): configuration, logger, and the adapters
 * behind ports, each built lazily on first use and reused by warm invocations. The composition
 * root (`shared/wiring/`) builds the production one from the environment; tests build one on real
 * local parts; the local runtime shares one between every function it serves.
 *
 * Types only: `shared/http` depends on this interface, never on an adapter.
 */
export interface FunctionContext {
  config: Config;
  log: Logger;
  /** The raw Upstash REST client (shared with `@upstash/ratelimit`). @throws Error when Upstash is not configured. */
  redis(): Redis;
  kv(): Kv;
  store(): Promise<UserStore>;
  /** The field-encryption key ring (keys imported once). */
  keyRing(): Promise<KeyRing>;
  /** The QStash queue (the local emulator in development). @throws Error when QStash is not configured. */
  queue(): Promise<Queue>;
  /** The audit store: MongoDB when `MONGO_URL` is set, else a table in the SQLite file. */
  auditLog(): Promise<AuditLog>;
  /** Records audit events through {@link FunctionContext.auditLog}; never fails a request. */
  audit(): AuditRecorder;
  /** Cross-instance counters in Redis (connects on the first count). */
  metrics(): Metrics;
  /**
   * The named members of the account use-cases' dependencies, each built once on first request
   * (so a profile read never loads the password hasher, the password policy or the queue client).
   */
  accountDeps<K extends keyof AccountDeps>(...members: K[]): Promise<Pick<AccountDeps, K>>;
  /** The API's OpenAPI document (the docs function): generated at build time in production. */
  apiDocument(): Promise<OpenApiDocument>;
  /**
   * Every route of the API (method + production path), so the `$default` function can answer a
   * known path asked with another method with 405 and `Allow`, as the local server does.
   */
  routeTable(): Promise<readonly ApiRoute[]>;
  /** Closes the store and audit connections this context opened (local runtime shutdown, tests). */
  close(): Promise<void>;
  /**
   * The context of one function granted only `secrets` (its endpoint spec's), sharing this
   * context's adapters: how the local runtime and the test app serve every function from one
   * process with each function's own least-privilege configuration. Reading a field of any other
   * secret throws `SecretWithheldError`; `onSecretRead` hears every read of a granted one.
   */
  withSecrets(secrets: readonly SecretName[], onSecretRead?: (secret: SecretName) => void): FunctionContext;
}
