import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import type { FunctionContext } from "../../shared/http/context";
import { buildManifest, type FunctionSpec } from "../functions";
import { ensureDevSecrets } from "./dev-secrets";
import type { Outbox } from "./outbox";
import { createOutboxApp } from "./outbox-app";
import { startProviderCapture } from "./provider-capture";
import { startQstashEmulator } from "./qstash-emulator";
import { startRedisServer } from "./redis-server";
import { createFunctionRouter, createLocalContext, type RouterOptions } from "./router";
import { startUpstashBridge } from "./upstash-bridge";

/** What {@link startLocalRuntime} started, for the banner and for tests. */
export interface LocalRuntime {
  /** Base URL of the API, e.g. `http://localhost:8000`. */
  url: string;
  manifest: FunctionSpec[];
  /** The one context every served function app is built from (tests read its store and audit log). */
  context: FunctionContext;
  /** Captured mail and SMS (present when Resend/Twilio stand-ins run). */
  outbox: Outbox | undefined;
  /** Lines describing each stand-in and generated secret (for the start-up banner). */
  notes: string[];
  /** Stops the server and everything the runtime started (redis-server included). */
  stop(): Promise<void>;
}

/** Options of {@link startLocalRuntime}. Values not given come from `process.env`. */
export interface LocalRuntimeOptions {
  /** TCP port; 0 picks a free one. @default PORT or 8000 */
  port?: number;
  /** Extra environment applied before configuration is parsed (tests). */
  env?: Record<string, string>;
  /** Keep Redis data under `<DATA_DIR>/redis` across restarts. @default true */
  persistRedis?: boolean;
  /** Hears every read of a granted secret by a function (tests derive each function's grants). */
  onSecretRead?: RouterOptions["onSecretRead"];
}

const token = (prefix: string) => `${prefix}${randomBytes(24).toString("base64url")}`;

/**
 * Runs every manifest function in this Node process on one port with production paths, with local
 * stand-ins for each cloud service that is not configured (DESIGN.md §8):
 * Redis (spawned `redis-server` or `REDIS_URL`, behind the Upstash-REST bridge), QStash (emulator),
 * Resend and Twilio (capture endpoints + dev outbox at `/_dev/outbox`). The user store is SQLite
 * under `DATA_DIR` unless `MONGO_URL` is set. Missing development secrets are generated once into
 * `<DATA_DIR>/dev-secrets.env`.
 *
 * Routing as in production: exact `METHOD /path` routes from the manifest. A known path asked with
 * another method gets 405 problem+json with `Allow`; an unknown path 404 problem+json. With
 * `CORS_ORIGINS` set, `OPTIONS` on a known path goes to the function owning it, whose CORS
 * middleware answers the preflight. Every response carries the shared `securityHeaders()`.
 *
 * Mutates `process.env` (the functions read their configuration from it, as on Lambda).
 * @throws Error when the configuration is invalid or `redis-server` cannot be found.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const env = process.env;
  Object.assign(env, options.env ?? {});
  const notes: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const dataDir = env.DATA_DIR || ".data";
    if (env.ENVIRONMENT !== "production") {
      const secrets = ensureDevSecrets(env, join(dataDir, "dev-secrets.env"));
      if (secrets.generated.length > 0)
        notes.push(`generated dev secrets ${secrets.generated.join(", ")} into ${dataDir}/dev-secrets.env`);
      if (secrets.loaded.length > 0)
        notes.push(`dev secrets ${secrets.loaded.join(", ")} from ${dataDir}/dev-secrets.env`);
    }

    if (!env.UPSTASH_REDIS_REST_URL) {
      let redisUrl =
        env.REDIS_URL || (env.REDIS_HOST ? `redis://${env.REDIS_HOST}:${env.REDIS_PORT || 6379}` : "");
      if (!redisUrl) {
        const server = await startRedisServer({
          dataDir: join(dataDir, "redis"),
          persist: options.persistRedis ?? true,
        });
        cleanups.push(() => server.stop());
        redisUrl = server.url;
        notes.push(`redis-server spawned at redis://127.0.0.1:${server.port} (password in the bridge only)`);
      }
      const bridge = await startUpstashBridge({ redisUrl, token: token("local_") });
      cleanups.push(() => bridge.close());
      env.UPSTASH_REDIS_REST_URL = bridge.url;
      env.UPSTASH_REDIS_REST_TOKEN = bridge.token;
      // Never print a password from the URL (ours, or the one REDIS_URL carries).
      notes.push(`Upstash REST bridge at ${bridge.url} → ${redisUrl.replace(/\/\/[^@/]*@/, "//")}`);
    }

    let outbox: Outbox | undefined;
    if (!env.RESEND_API_KEY || !env.TWILIO_SID) {
      const credentials = {
        resendApiKey: env.RESEND_API_KEY || token("re_local_"),
        twilioSid: env.TWILIO_SID || `AC${randomBytes(16).toString("hex")}`,
        twilioAuthToken: env.TWILIO_AUTH_TOKEN || randomBytes(16).toString("hex"),
      };
      const capture = await startProviderCapture(credentials);
      cleanups.push(() => capture.close());
      outbox = capture.outbox;
      if (!env.RESEND_API_KEY) {
        env.RESEND_API_KEY = credentials.resendApiKey;
        env.RESEND_BASE_URL = capture.url;
      }
      if (!env.TWILIO_SID) {
        env.TWILIO_SID = credentials.twilioSid;
        env.TWILIO_AUTH_TOKEN = credentials.twilioAuthToken;
        env.TWILIO_BASE_URL = capture.url;
        env.TWILIO_NUMBER ||= "+15005550006";
      }
      notes.push(`Resend/Twilio capture at ${capture.url}; read mail at /_dev/outbox`);
    }

    if (!env.QSTASH_TOKEN) {
      const credentials = {
        token: token("qstash_local_"),
        currentSigningKey: token("sig_"),
        nextSigningKey: token("sig_"),
      };
      const qstash = await startQstashEmulator({ ...credentials, retryBaseDelayMs: 500 });
      cleanups.push(() => qstash.close());
      env.QSTASH_URL = qstash.url;
      env.QSTASH_TOKEN = credentials.token;
      env.QSTASH_CURRENT_SIGNING_KEY = credentials.currentSigningKey;
      env.QSTASH_NEXT_SIGNING_KEY = credentials.nextSigningKey;
      notes.push(`QStash emulator at ${qstash.url}`);
    }

    // Listen first (port 0 in tests), so APP_URL — which signed deliveries and mail links use — is known
    // before any function parses its configuration.
    let root: Hono | undefined;
    const server = serve({
      fetch: (req, bindings) =>
        root ? root.fetch(req, bindings) : new Response("starting", { status: 503 }),
      port: options.port ?? Number(env.PORT || 8000),
      hostname: env.HOST || "127.0.0.1",
    });
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    const url = `http://localhost:${port}`;
    env.PORT = String(port);
    env.APP_URL ||= url;

    const context = createLocalContext(env); // parses the configuration: fails loudly here
    cleanups.push(() => context.close()); // the user store and the audit log, when opened
    const manifest = await buildManifest(context.config.userKinds);
    const app = await createFunctionRouter(context, {
      ...(options.onSecretRead ? { onSecretRead: options.onSecretRead } : {}),
      mountFirst: (router) => {
        if (outbox) router.route("/", createOutboxApp(outbox));
      },
    });
    root = app;
    return { url, manifest, context, outbox, notes, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
