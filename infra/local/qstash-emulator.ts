/**
 * Local emulator of the QStash v2 API that the real `@upstash/qstash` `Client` calls: publish,
 * batch, schedules and signing keys, with asynchronous signed delivery, retries with exponential
 * backoff, deduplication and a dead-letter list. Deliveries verify with the real `Receiver`.
 * Wire facts: /work/shared/notes/protocols.md §2. Local runtime and tests only.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { Hono } from "hono";
import { createDeliveryEngine, type DeadLetter, type EmulatedMessage } from "./qstash-delivery";
import { destinationFromUrl, isHttpUrl, type ParsedPublish, parsePublish } from "./qstash-publish";
import { createScheduleStore, type ScheduleView } from "./qstash-schedules";
import { serveAppLocally } from "./serve-app";

export type { DeadLetter, EmulatedMessage, QstashMessageState } from "./qstash-delivery";
export type { ScheduleView } from "./qstash-schedules";

/** Options of {@link createQstashEmulator}. */
export interface QstashEmulatorOptions {
  /** Bearer token the Client must send (`QSTASH_TOKEN`). */
  token: string;
  /** Key that signs deliveries (`QSTASH_CURRENT_SIGNING_KEY`). */
  currentSigningKey: string;
  /** Reported by `GET /v2/keys` (`QSTASH_NEXT_SIGNING_KEY`). */
  nextSigningKey: string;
  /** Backoff base: the n-th retry waits `retryBaseDelayMs * 2^(n-1)` ms (capped at 60 s). @default 1000 */
  retryBaseDelayMs?: number;
  /** Receives one line per publish, delivery outcome and schedule firing (ids and URLs, never bodies). */
  log?: (line: string) => void;
}

/** The emulator: a Hono app plus inspection and control hooks for tests and the dev server. */
export interface QstashEmulator {
  app: Hono;
  /** Every accepted message in publish order (duplicates are not stored again). */
  messages(): EmulatedMessage[];
  deadLetters(): DeadLetter[];
  schedules(): ScheduleView[];
  /** Fires a schedule now, as a cron tick would. @returns the new message id, or `undefined` for an unknown schedule. */
  triggerSchedule(scheduleId: string): string | undefined;
  /** Resolves when no delivery is pending, retries and delayed messages included. */
  drain(): Promise<void>;
  /** Stops cron jobs, timers and in-flight deliveries. */
  close(): Promise<void>;
}

/** A running emulator; `url` is what the Client takes as `baseUrl`. */
export interface RunningQstashEmulator extends QstashEmulator {
  url: string;
  /** Stops the emulator and the HTTP server. */
  close(): Promise<void>;
}

interface PublishResult {
  messageId: string;
  url: string;
  deduplicated?: true;
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/**
 * Creates the QStash emulator. Routes (all require `Authorization: Bearer <token>`, else 401
 * `{"error":"Unauthorized"}` as QStash answers): `POST /v2/publish/<destination>`, `POST /v2/batch`,
 * `POST /v2/schedules/<destination>` (`Upstash-Cron`, optional `Upstash-Schedule-Id`),
 * `GET /v2/schedules`, `GET|DELETE /v2/schedules/<id>`, `PATCH /v2/schedules/<id>/pause|resume`,
 * the emulator-only `POST /v2/schedules/<id>/trigger`, and `GET /v2/keys`.
 * A publish answers 201 `{messageId,url}` at once; a duplicate (same `Upstash-Deduplication-Id`, or
 * same content with `Upstash-Content-Based-Deduplication: true`) answers 202 with the first
 * `messageId` and `deduplicated: true`, and is not delivered again.
 */
export function createQstashEmulator(options: QstashEmulatorOptions): QstashEmulator {
  const engine = createDeliveryEngine({
    currentSigningKey: options.currentSigningKey,
    retryBaseDelayMs: options.retryBaseDelayMs ?? 1000,
    ...(options.log ? { log: options.log } : {}),
  });
  const dedup = new Map<string, string>();
  const tokenDigest = sha256(options.token);

  function accept(parsed: ParsedPublish & { ok: true }): PublishResult {
    const { spec, dedupKey } = parsed;
    const existing = dedupKey === undefined ? undefined : dedup.get(dedupKey);
    if (existing !== undefined) return { messageId: existing, url: spec.destination, deduplicated: true };
    const messageId = engine.enqueue(spec);
    if (dedupKey !== undefined) dedup.set(dedupKey, messageId);
    return { messageId, url: spec.destination };
  }

  const schedules = createScheduleStore({
    ...(options.log ? { log: options.log } : {}),
    fire({ scheduleId, destination, headers, body }) {
      const parsed = parsePublish(destination, headers, body, Date.now(), scheduleId);
      // The headers were validated when the schedule was created, so this cannot fail.
      if (!parsed.ok) throw new Error(parsed.error);
      return accept(parsed).messageId;
    },
  });

  const app = new Hono();
  const badRequest = (c: Context, error: string) => c.json({ error }, 400);
  const notFound = (c: Context) => c.json({ error: "schedule not found" }, 404);

  app.use("*", async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const token = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : "";
    // Compare digests so the comparison is constant-time whatever the lengths.
    if (!timingSafeEqual(sha256(token), tokenDigest)) return c.json({ error: "Unauthorized" }, 401);
    return next();
  });

  app.post("/v2/publish/*", async (c) => {
    const destination = destinationFromUrl(c.req.url, "/v2/publish/");
    if (destination === null) return badRequest(c, "invalid destination url");
    const body = new Uint8Array(await c.req.arrayBuffer());
    const parsed = parsePublish(destination, c.req.raw.headers, body, Date.now());
    if (!parsed.ok) return badRequest(c, parsed.error);
    const result = accept(parsed);
    return c.json(result, result.deduplicated ? 202 : 201);
  });

  app.post("/v2/batch", async (c) => {
    let items: unknown;
    try {
      items = await c.req.json();
    } catch {
      return badRequest(c, "body must be a JSON array");
    }
    if (!Array.isArray(items)) return badRequest(c, "body must be a JSON array");
    const parsedItems: (ParsedPublish & { ok: true })[] = [];
    for (const [index, item] of items.entries()) {
      const { destination, headers, body } = (item ?? {}) as Record<string, unknown>;
      if (typeof destination !== "string" || !isHttpUrl(destination)) {
        return badRequest(c, `item ${index}: invalid destination url`);
      }
      if (body !== undefined && typeof body !== "string")
        return badRequest(c, `item ${index}: body must be a string`);
      const itemHeaders = new Headers(
        Object.entries((headers ?? {}) as Record<string, unknown>).map(([k, v]): [string, string] => [
          k,
          String(v),
        ]),
      );
      const parsed = parsePublish(destination, itemHeaders, new TextEncoder().encode(body ?? ""), Date.now());
      if (!parsed.ok) return badRequest(c, `item ${index}: ${parsed.error}`);
      parsedItems.push(parsed);
    }
    // Validate everything first so a bad item publishes nothing, then accept in order.
    return c.json(parsedItems.map(accept));
  });

  app.get("/v2/keys", (c) => c.json({ current: options.currentSigningKey, next: options.nextSigningKey }));

  app.get("/v2/schedules", (c) => c.json(schedules.list()));
  app.get("/v2/schedules/:id", (c) => {
    const schedule = schedules.get(c.req.param("id"));
    return schedule ? c.json(schedule) : notFound(c);
  });
  app.delete("/v2/schedules/:id", (c) =>
    schedules.remove(c.req.param("id")) ? c.body(null, 200) : notFound(c),
  );
  app.patch("/v2/schedules/:id/pause", (c) =>
    schedules.setPaused(c.req.param("id"), true) ? c.body(null, 200) : notFound(c),
  );
  app.patch("/v2/schedules/:id/resume", (c) =>
    schedules.setPaused(c.req.param("id"), false) ? c.body(null, 200) : notFound(c),
  );
  app.post("/v2/schedules/:id/trigger", (c) => {
    const messageId = schedules.trigger(c.req.param("id"));
    return messageId === undefined ? notFound(c) : c.json({ messageId });
  });
  app.post("/v2/schedules/*", async (c) => {
    const destination = destinationFromUrl(c.req.url, "/v2/schedules/");
    if (destination === null) return badRequest(c, "invalid destination url");
    const body = new Uint8Array(await c.req.arrayBuffer());
    const created = schedules.create(destination, c.req.raw.headers, body);
    return created.ok ? c.json({ scheduleId: created.scheduleId }) : badRequest(c, created.error);
  });

  app.notFound((c) => c.json({ error: "not found" }, 404));

  return {
    app,
    messages: () => engine.messages(),
    deadLetters: () => engine.deadLetters(),
    schedules: () => schedules.list(),
    triggerSchedule: (scheduleId) => schedules.trigger(scheduleId),
    drain: () => engine.drain(),
    async close() {
      schedules.close();
      engine.close();
      await engine.drain();
    },
  };
}

/**
 * Starts {@link createQstashEmulator} on `127.0.0.1` (a free port unless `port` is given).
 * Point the Client at it with `new Client({ baseUrl: url, token, devMode: false })`; never set
 * `QSTASH_DEV` (it makes the SDK ignore `baseUrl`, protocols.md §2).
 *
 * @throws the listen error (e.g. `EADDRINUSE`) when `port` is taken.
 */
export async function startQstashEmulator(
  options: QstashEmulatorOptions & { port?: number },
): Promise<RunningQstashEmulator> {
  const emulator = createQstashEmulator(options);
  const server = await serveAppLocally(emulator.app.fetch, options.port ?? 0);
  return {
    ...emulator,
    url: server.url,
    async close() {
      await emulator.close();
      await server.close();
    },
  };
}
