/**
 * The composition root: the one module that chooses adapters (Upstash Redis, SQLite or MongoDB,
 * QStash, the audit store) and builds a {@link FunctionContext} from a configuration. Only
 * `functions/` and `infra/` import it; `shared/http`, `shared/accounts`, `shared/crypto` and
 * `shared/ports` never do (a test checks the import graph).
 *
 * Every member is built lazily on first use and reused by warm invocations (the serverless
 * pattern: connections and imported keys live in module scope), and each adapter module is
 * imported only when its member is first used, so a function pays only for what it touches.
 */
import { readFile } from "node:fs/promises";
import type { Redis } from "@upstash/redis";
import { createUpstashKv, upstashRedisOver } from "../adapters/upstash-kv";
import { createNodeRequester } from "../adapters/upstash-node-transport";
import { restrictConfig } from "../config/grants";
import { type Config, parseConfig } from "../config/schema";
import { ConfigError } from "../errors";
import type { FunctionContext } from "../http/context";
import type { EndpointSpec } from "../http/endpoint";
import type { OpenApiDocument } from "../http/openapi";
import type { ApiRoute } from "../http/route-table";
import { createAuditRecorder } from "../observability/audit";
import { createLogger, type Logger } from "../observability/logger";
import { createMetrics } from "../observability/metrics";
import type { AuditLog } from "../ports/audit";
import type { JobQueue } from "../ports/jobs";
import type { Queue, SignatureVerifier } from "../ports/notifications";
import type { UserStore } from "../ports/user-store";
import { createAccountDeps, type PasswordCapabilities } from "./account-deps";
import { linkedSecrets } from "./linked-secrets";

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

/** Options of {@link createContext}. */
export interface ContextOptions extends PasswordCapabilities {
  /** Where log lines go. @default a JSON logger at `config.logLevel` */
  log?: Logger;
  /**
   * Where the OpenAPI document comes from. @default `openapi.json` in the working directory (the
   * deployed bundle's root; written at build time by `npm run openapi`).
   */
  apiDocument?: () => Promise<OpenApiDocument>;
  /**
   * Where the route table comes from. @default `routes.json` in the working directory (written
   * beside the OpenAPI document by `npm run openapi`, copied into the `$default` function's bundle)
   */
  routeTable?: () => Promise<readonly ApiRoute[]>;
  /**
   * The queue notifications are published to, instead of QStash (tests inject one that captures
   * what is published). @default QStash at `config.qstash`
   */
  queue?: Queue;
  /**
   * The clock the account use-cases, the login throttle and the access tokens read, epoch
   * milliseconds (tests inject one they move by hand). Rate limits and Redis TTLs keep real time.
   * @default Date.now
   */
  nowMs?: () => number;
  /**
   * A context of the same service whose adapters this one reuses (the local runtime and the test
   * app serve every function from one process: one Redis client, one store connection). Each
   * member still reads its own configuration fields first, so a function whose configuration
   * withholds a secret (`restrictConfig`) fails exactly as it would alone.
   */
  shareAdaptersOf?: FunctionContext;
}

/** A JSON file of the deployed bundle's root (the Lambda's working directory), read once. */
async function readBuildFile<T>(path: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch (cause) {
    throw new Error(`${path} is missing or unreadable: run \`npm run openapi\` before deploying`, { cause });
  }
}

/**
 * The OpenAPI document generated at build time (`npm run openapi` writes `.build/openapi.json`;
 * SST copies it to `openapi.json` at the bundle root, the Lambda's working directory).
 */
const readApiDocument = () => readBuildFile<OpenApiDocument>("openapi.json");

/** The route table generated beside it (`.build/routes.json`, copied to `routes.json`). */
const readRouteTable = () => readBuildFile<readonly ApiRoute[]>("routes.json");

/**
 * Builds a function context from a configuration. Nothing connects until a member is used.
 * @throws Error from `redis()` when no Upstash REST endpoint is configured, from `queue()` when
 * QStash is not.
 */
export function createContext(config: Config, options: ContextOptions = {}): FunctionContext {
  const log = options.log ?? createLogger({ level: config.logLevel });
  const shared = options.shareAdaptersOf;
  const redis = once((): Redis => {
    // Read first: a withheld secret throws here, whether or not the client is shared.
    const { restUrl, restToken, timeoutMs } = config.redis;
    if (shared) return shared.redis();
    if (!restUrl || !restToken) {
      throw new Error(
        "UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN are not set: run `npm run dev`, which starts a local bridge",
      );
    }
    // Node's HTTP client rather than fetch: see upstash-node-transport.ts (cold start, CPU per call).
    return upstashRedisOver(createNodeRequester({ url: restUrl, token: restToken, timeoutMs }));
  });
  const kv = once(() => {
    const client = redis(); // reads this function's Redis grant, shared client or not
    return shared ? shared.kv() : createUpstashKv(client);
  });
  const store = once(async (): Promise<UserStore> => {
    const { mongoUrl } = config.store;
    if (shared) return shared.store();
    if (mongoUrl) {
      const { createMongoUserStore } = await import("../adapters/mongo-user-store");
      return createMongoUserStore({
        url: mongoUrl,
        dbName: config.store.mongoDb,
        kinds: config.userKinds,
      });
    }
    const { createSqliteUserStore } = await import("../adapters/sqlite-user-store");
    return createSqliteUserStore({ path: config.store.sqlitePath, kinds: config.userKinds });
  });
  const injectedQueue = options.queue;
  const queue = once(async (): Promise<Queue> => {
    if (injectedQueue) return injectedQueue;
    const { token, url } = config.qstash;
    if (shared) return shared.queue();
    if (!token)
      throw new Error("QSTASH_TOKEN is not set: run `npm run dev`, which starts a local QStash emulator");
    const { createQstashQueue } = await import("../adapters/qstash-queue");
    return createQstashQueue({
      token,
      ...(url ? { baseUrl: url } : {}),
      destinations: { email: `${config.appUrl}/jobs/email`, sms: `${config.appUrl}/jobs/sms` },
    });
  });
  const jobQueue = once(async (): Promise<JobQueue> => {
    const { token, url } = config.qstash;
    if (!token)
      throw new Error("QSTASH_TOKEN is not set: run `npm run dev`, which starts a local QStash emulator");
    const { createQstashJobQueue } = await import("../adapters/qstash-queue");
    return createQstashJobQueue({ token, appUrl: config.appUrl, ...(url ? { baseUrl: url } : {}) });
  });
  const qstashVerifier = once(async (): Promise<SignatureVerifier> => {
    const { currentSigningKey, nextSigningKey } = config.qstash;
    if (!currentSigningKey || !nextSigningKey) {
      const missing = [
        ...(currentSigningKey ? [] : ["QSTASH_CURRENT_SIGNING_KEY"]),
        ...(nextSigningKey ? [] : ["QSTASH_NEXT_SIGNING_KEY"]),
      ];
      throw new ConfigError(missing.map((name) => `${name}: required to verify QStash deliveries (not set)`));
    }
    const { createSignatureVerifier } = await import("../adapters/qstash-receiver");
    return createSignatureVerifier({ currentSigningKey, nextSigningKey });
  });
  const auditLog = once(async (): Promise<AuditLog> => {
    const { retentionDays } = config.audit;
    const { mongoUrl } = config.store;
    if (shared) return shared.auditLog();
    if (mongoUrl) {
      const { createMongoAuditLog } = await import("../adapters/mongo-audit-log");
      return createMongoAuditLog({ url: mongoUrl, dbName: config.store.mongoDb, retentionDays });
    }
    const { createSqliteAuditLog } = await import("../adapters/sqlite-audit-log");
    return createSqliteAuditLog({ path: config.store.sqlitePath, retentionDays });
  });
  const keyRing = once(async () => {
    const { encryption } = config;
    if (shared) return shared.keyRing();
    const [{ createKeyRing }, { nodeAesGcm }] = await Promise.all([
      import("../crypto/envelope"),
      import("../adapters/node-aes-gcm"),
    ]);
    // node:crypto's AES-GCM: the same OpenSSL as WebCrypto without a thread-pool trip per call.
    return createKeyRing(encryption, { cipher: nodeAesGcm });
  });
  // The counters are per process (flushed to Redis in one pipeline), so a shared context's are reused.
  // Counting and the flush go to Redis: a function whose configuration withholds it fails here too.
  const metrics = once(() => {
    if (!shared) return createMetrics({ redis, log });
    redis(); // reads this function's Redis grant
    return shared.metrics();
  });
  const opened = { store: false, auditLog: false };
  const openedStore = () => {
    opened.store = true;
    return store();
  };
  const openedAuditLog = () => {
    opened.auditLog = true;
    return auditLog();
  };
  const audit = once(() => createAuditRecorder({ auditLog: openedAuditLog, metrics: metrics(), log }));
  const accountDeps = createAccountDeps({
    config,
    log,
    kv,
    store: openedStore,
    keyRing,
    queue,
    audit,
    metrics,
    ...(options.passwordHasher ? { passwordHasher: options.passwordHasher } : {}),
    ...(options.passwordPolicy ? { passwordPolicy: options.passwordPolicy } : {}),
    ...(options.nowMs ? { nowMs: options.nowMs } : {}),
  });
  const context: FunctionContext = {
    config,
    log,
    redis,
    kv,
    store: openedStore,
    keyRing,
    queue,
    jobQueue,
    qstashVerifier,
    auditLog: openedAuditLog,
    audit,
    metrics,
    accountDeps,
    apiDocument: once(options.apiDocument ?? readApiDocument),
    routeTable: once(options.routeTable ?? readRouteTable),
    async close() {
      // Each independently: a store that failed to open must not keep the other open.
      const closing: Promise<void>[] = [];
      if (opened.store) closing.push(store().then((s) => s.close()));
      if (opened.auditLog) closing.push(auditLog().then((a) => a.close()));
      await Promise.allSettled(closing);
    },
    withSecrets(secrets, onSecretRead) {
      // Not the injected queue: the function's own member reads its QStash token first.
      const { queue: _injected, apiDocument: _document, routeTable: _routes, ...rest } = options;
      return createContext(restrictConfig(config, secrets, onSecretRead ? { onSecretRead } : {}), {
        ...rest,
        log,
        apiDocument: () => context.apiDocument(),
        routeTable: () => context.routeTable(),
        shareAdaptersOf: context,
      });
    },
  };
  return context;
}

/** Default contexts by spec: one per function (and so one per process on Lambda). */
const defaults = new WeakMap<Pick<EndpointSpec, "secrets">, FunctionContext>();

/**
 * The process-wide context of a deployed function, built on first use (once per cold start) from
 * the environment plus the secrets SST links to it ({@link linkedSecrets}), restricted to the
 * secrets its endpoint spec is granted (`spec.secrets`: any other secret's fields throw
 * `SecretWithheldError`, even where the environment has it, as in the local runtime). Function
 * modules build their exported `app` from it; those that handle passwords pass their capabilities
 * (`shared/wiring/passwords.ts`). One per spec, so two function modules loaded in one process (a
 * test) each keep their own grant.
 * @throws ConfigError when the environment is invalid — at cold start, loudly.
 */
export function defaultContext(
  spec: Pick<EndpointSpec, "secrets">,
  capabilities: PasswordCapabilities = {},
): FunctionContext {
  let context = defaults.get(spec);
  if (!context) {
    context = createContext(
      parseConfig({ ...process.env, ...linkedSecrets() }, { secrets: spec.secrets }),
      capabilities,
    );
    defaults.set(spec, context);
  }
  return context;
}
