import type { Redis } from "@upstash/redis";
import type { AccountDeps } from "./accounts/deps";
import { createUpstashKv, createUpstashRedis } from "./adapters/upstash-kv";
import { type Config, getConfig } from "./config/schema";
import type { KeyRing } from "./crypto/envelope";
import { type AuditRecorder, createAuditRecorder } from "./observability/audit";
import { createLogger, type Logger } from "./observability/logger";
import { createMetrics, type Metrics } from "./observability/metrics";
import type { AuditLog } from "./ports/audit";
import type { Kv } from "./ports/kv";
import type { Queue } from "./ports/notifications";
import type { UserStore } from "./ports/user-store";

/**
 * The adapters a function needs, built lazily once per cold start and reused by warm invocations
 * (the serverless pattern: connections and imported keys live in module scope). Each getter loads
 * its adapter module on first use, so a function pays only for what it touches.
 */
export interface Services {
  config: Config;
  log: Logger;
  /** The raw Upstash REST client (shared with `@upstash/ratelimit`). */
  redis(): Redis;
  kv(): Kv;
  store(): Promise<UserStore>;
  /** The field-encryption key ring (keys imported once). */
  keyRing(): Promise<KeyRing>;
  /** The QStash queue (the local emulator in development). @throws Error when QStash is not configured. */
  queue(): Promise<Queue>;
  /** Everything the account use-cases need, built once (keys imported, Argon2 backend loaded). */
  accountDeps(): Promise<AccountDeps>;
  /** The audit store: MongoDB when `MONGO_URL` is set, else a table in the SQLite file. */
  auditLog(): Promise<AuditLog>;
  /** Records audit events through {@link Services.auditLog}; never fails a request (see `observability/audit.ts`). */
  audit(): AuditRecorder;
  /** Cross-instance counters in Redis (connects on the first count). */
  metrics(): Metrics;
  /** Closes the store and audit connections this container opened (local runtime shutdown, tests). */
  close(): Promise<void>;
}

/** Memoises `make`; a rejected promise is forgotten so the next call retries (no cached outage). */
function once<T>(make: () => T): () => T {
  let value: { v: T } | undefined;
  return () => {
    if (!value) {
      const v = make();
      const slot = { v };
      value = slot;
      if (v instanceof Promise) {
        v.catch(() => {
          if (value === slot) value = undefined;
        });
      }
    }
    return value.v;
  };
}

/**
 * Builds a services container from a configuration. Nothing connects until a getter is called.
 * @throws Error from `redis()` when no Upstash REST endpoint is configured.
 */
export function createServices(config: Config): Services {
  const log = createLogger({ level: config.logLevel });
  const redis = once(() => {
    const { restUrl, restToken, timeoutMs } = config.redis;
    if (!restUrl || !restToken) {
      throw new Error(
        "UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN are not set: run `npm run dev`, which starts a local bridge",
      );
    }
    return createUpstashRedis({ url: restUrl, token: restToken, timeoutMs });
  });
  const kv = once(() => createUpstashKv(redis()));
  const store = once(async (): Promise<UserStore> => {
    if (config.store.mongoUrl) {
      const { createMongoUserStore } = await import("./adapters/mongo-user-store");
      return createMongoUserStore({
        url: config.store.mongoUrl,
        dbName: config.store.mongoDb,
        kinds: config.userKinds,
      });
    }
    const { createSqliteUserStore } = await import("./adapters/sqlite-user-store");
    return createSqliteUserStore({ path: config.store.sqlitePath, kinds: config.userKinds });
  });
  const queue = once(async (): Promise<Queue> => {
    const { token, url } = config.qstash;
    if (!token)
      throw new Error("QSTASH_TOKEN is not set: run `npm run dev`, which starts a local QStash emulator");
    const { createQstashQueue } = await import("./adapters/qstash-queue");
    return createQstashQueue({
      token,
      ...(url ? { baseUrl: url } : {}),
      destinations: { email: `${config.appUrl}/jobs/email`, sms: `${config.appUrl}/jobs/sms` },
    });
  });
  const auditLog = once(async (): Promise<AuditLog> => {
    const { retentionDays } = config.audit;
    if (config.store.mongoUrl) {
      const { createMongoAuditLog } = await import("./adapters/mongo-audit-log");
      return createMongoAuditLog({ url: config.store.mongoUrl, dbName: config.store.mongoDb, retentionDays });
    }
    const { createSqliteAuditLog } = await import("./adapters/sqlite-audit-log");
    return createSqliteAuditLog({ path: config.store.sqlitePath, retentionDays });
  });
  const metrics = once(() => createMetrics({ redis, log }));
  const opened = { store: false, auditLog: false };
  const services: Services = {
    config,
    log,
    redis,
    kv,
    store: () => {
      opened.store = true;
      return store();
    },
    queue,
    auditLog: () => {
      opened.auditLog = true;
      return auditLog();
    },
    audit: once(() => createAuditRecorder({ auditLog: services.auditLog, metrics: metrics(), log })),
    metrics,
    async close() {
      // Each independently: a store that failed to open must not keep the other open.
      const closing: Promise<void>[] = [];
      if (opened.store) closing.push(store().then((s) => s.close()));
      if (opened.auditLog) closing.push(auditLog().then((a) => a.close()));
      await Promise.allSettled(closing);
    },
    keyRing: once(async () => {
      const { createKeyRing } = await import("./crypto/envelope");
      return createKeyRing(config.encryption);
    }),
    accountDeps: once(async () => {
      const { buildAccountDeps } = await import("./accounts/account-deps");
      return buildAccountDeps(services, await queue());
    }),
  };
  return services;
}

let current: Services | undefined;

/** The process-wide services, built from {@link getConfig} on first use (once per cold start). */
export function getServices(): Services {
  current ??= createServices(getConfig());
  return current;
}

/** Replaces the process-wide services (local runtime and tests, after changing the environment). */
export function setServices(services: Services | undefined): void {
  current = services;
}
