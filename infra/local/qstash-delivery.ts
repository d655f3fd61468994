import { signQstashDelivery } from "./qstash-signing";

/**
 * Lifecycle of an emulated message: `pending` (waiting for its time or in flight), `retrying`
 * (a delivery failed, waiting for the backoff), `delivered` (a 2xx came back), `dead` (retries
 * exhausted, on the dead-letter list), `cancelled` (the emulator closed first).
 */
export type QstashMessageState = "pending" | "retrying" | "delivered" | "dead" | "cancelled";

/** A message as the emulator stores it (a snapshot is returned to callers). */
export interface EmulatedMessage {
  messageId: string;
  /** Destination URL exactly as published (the signature's `sub`). */
  destination: string;
  /** Delivery method (`Upstash-Method`, default POST). */
  method: string;
  /** Headers of the publish request as QStash saw them, lower-cased, without `authorization`. */
  headers: Record<string, string>;
  /** Raw body decoded as UTF-8. */
  body: string;
  state: QstashMessageState;
  /** Delivery attempts made so far (the first one included). */
  attempts: number;
  /** Status of the last attempt; `null` before any attempt or after a network error. */
  lastStatus: number | null;
  /** Set when the message was produced by a schedule. */
  scheduleId?: string;
  createdAtMs: number;
}

/** A message whose retries ran out. */
export interface DeadLetter {
  messageId: string;
  destination: string;
  method: string;
  body: string;
  attempts: number;
  lastStatus: number | null;
  /** Network error message of the last attempt, when it had no HTTP status. */
  lastError?: string;
  deadAtMs: number;
}

/** Everything the delivery engine needs to deliver one message. */
export interface DeliverySpec {
  destination: string;
  method: string;
  /** Headers as published (lower-cased, no `authorization`), kept for inspection. */
  publishHeaders: Record<string, string>;
  /** Headers sent to the destination besides the Upstash ones: `content-type` and un-prefixed forwards. */
  deliveryHeaders: Record<string, string>;
  body: Uint8Array;
  /** Retries after the first attempt (QStash `Upstash-Retries`). */
  retries: number;
  /** Earliest delivery time, Unix milliseconds. */
  notBeforeMs: number;
  /** Per-attempt timeout, milliseconds. */
  timeoutMs: number;
  scheduleId?: string;
}

/** Options of {@link createDeliveryEngine}. */
export interface DeliveryEngineOptions {
  currentSigningKey: string;
  /** Base of the exponential backoff: the n-th retry waits `retryBaseDelayMs * 2^(n-1)`, capped at 60 s. */
  retryBaseDelayMs: number;
  log?: (line: string) => void;
}

/** Asynchronous, signed delivery with retries and a dead-letter list. */
export interface DeliveryEngine {
  /** Stores the message and starts its delivery in the background; returns its id at once. */
  enqueue(spec: DeliverySpec): string;
  messages(): EmulatedMessage[];
  deadLetters(): DeadLetter[];
  /** Resolves when no delivery is pending (including retries and delayed messages). */
  drain(): Promise<void>;
  /** Cancels timers and in-flight requests; pending messages become `cancelled`. */
  close(): void;
}

interface MessageRecord extends DeliverySpec {
  messageId: string;
  state: QstashMessageState;
  attempts: number;
  lastStatus: number | null;
  lastError?: string;
  createdAtMs: number;
}

const MAX_BACKOFF_MS = 60_000;

/** Random id with a QStash-like prefix, e.g. `msg_…`. */
export function randomId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `${prefix}_${Buffer.from(bytes).toString("base64url")}`;
}

/**
 * Creates the delivery engine of the QStash emulator. Each message is delivered by its own async
 * task: wait until `notBeforeMs`, sign, `fetch`, and on a non-2xx status or network error retry
 * with exponential backoff until `retries` is spent, then dead-letter it. Headers sent follow
 * protocols.md §2: `Upstash-Signature`, `Upstash-Message-Id`, `Upstash-Retried` (0-based),
 * `User-Agent: Upstash-QStash`, `Upstash-Schedule-Id` for scheduled messages, `Upstash-Caller-Ip`.
 */
export function createDeliveryEngine(options: DeliveryEngineOptions): DeliveryEngine {
  const records = new Map<string, MessageRecord>();
  const dead: DeadLetter[] = [];
  const inflight = new Set<Promise<void>>();
  const wakers = new Set<() => void>();
  const closing = new AbortController();
  const log = options.log ?? (() => {});

  // Resolves true after `ms`, or false as soon as the engine closes.
  function sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (closing.signal.aborted) return resolve(false);
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve(false);
      };
      const timer = setTimeout(() => {
        wakers.delete(wake);
        resolve(true);
      }, ms);
      wakers.add(wake);
    });
  }

  async function attempt(record: MessageRecord): Promise<boolean> {
    const headers = new Headers(record.deliveryHeaders);
    headers.set(
      "Upstash-Signature",
      await signQstashDelivery({
        signingKey: options.currentSigningKey,
        url: record.destination,
        body: record.body,
      }),
    );
    headers.set("Upstash-Message-Id", record.messageId);
    headers.set("Upstash-Retried", String(record.attempts));
    headers.set("User-Agent", "Upstash-QStash");
    headers.set("Upstash-Caller-Ip", "127.0.0.1");
    if (record.scheduleId !== undefined) headers.set("Upstash-Schedule-Id", record.scheduleId);
    record.attempts += 1;
    const hasBody = record.method !== "GET" && record.method !== "HEAD";
    try {
      const response = await fetch(record.destination, {
        method: record.method,
        headers,
        body: hasBody ? new Uint8Array(record.body) : undefined,
        redirect: "manual",
        signal: AbortSignal.any([closing.signal, AbortSignal.timeout(record.timeoutMs)]),
      });
      await response.arrayBuffer().catch(() => undefined);
      record.lastStatus = response.status;
      delete record.lastError;
      return response.status >= 200 && response.status < 300;
    } catch (error) {
      record.lastStatus = null;
      record.lastError = error instanceof Error ? error.message : String(error);
      return false;
    }
  }

  async function deliver(record: MessageRecord): Promise<void> {
    const waitMs = record.notBeforeMs - Date.now();
    if (waitMs > 0 && !(await sleep(waitMs))) return cancel(record);
    for (;;) {
      record.state = "pending";
      const ok = await attempt(record);
      if (closing.signal.aborted) return cancel(record);
      const outcome = record.lastStatus ?? record.lastError;
      if (ok) {
        record.state = "delivered";
        log(`qstash: ${record.messageId} delivered to ${record.destination} (${outcome})`);
        return;
      }
      if (record.attempts > record.retries) {
        record.state = "dead";
        dead.push({
          messageId: record.messageId,
          destination: record.destination,
          method: record.method,
          body: new TextDecoder().decode(record.body),
          attempts: record.attempts,
          lastStatus: record.lastStatus,
          ...(record.lastError === undefined ? {} : { lastError: record.lastError }),
          deadAtMs: Date.now(),
        });
        log(`qstash: ${record.messageId} dead-lettered after ${record.attempts} attempts (${outcome})`);
        return;
      }
      record.state = "retrying";
      const backoffMs = Math.min(MAX_BACKOFF_MS, options.retryBaseDelayMs * 2 ** (record.attempts - 1));
      log(`qstash: ${record.messageId} failed (${outcome}), retry in ${backoffMs} ms`);
      if (!(await sleep(backoffMs))) return cancel(record);
    }
  }

  function cancel(record: MessageRecord): void {
    if (record.state === "pending" || record.state === "retrying") record.state = "cancelled";
  }

  return {
    enqueue(spec) {
      const messageId = randomId("msg");
      const record: MessageRecord = {
        ...spec,
        messageId,
        state: "pending",
        attempts: 0,
        lastStatus: null,
        createdAtMs: Date.now(),
      };
      records.set(messageId, record);
      log(`qstash: ${messageId} accepted for ${spec.destination}`);
      const task = deliver(record).catch((error: unknown) => {
        // A bug in the engine itself (e.g. signing failed): surface it, never leave the task pending.
        record.state = "dead";
        record.lastError = error instanceof Error ? error.message : String(error);
        log(`qstash: ${messageId} internal error: ${record.lastError}`);
      });
      inflight.add(task);
      void task.finally(() => inflight.delete(task));
      return messageId;
    },
    messages() {
      return [...records.values()].map((r) => ({
        messageId: r.messageId,
        destination: r.destination,
        method: r.method,
        headers: { ...r.publishHeaders },
        body: new TextDecoder().decode(r.body),
        state: r.state,
        attempts: r.attempts,
        lastStatus: r.lastStatus,
        ...(r.scheduleId === undefined ? {} : { scheduleId: r.scheduleId }),
        createdAtMs: r.createdAtMs,
      }));
    },
    deadLetters() {
      return dead.map((d) => ({ ...d }));
    },
    async drain() {
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
    close() {
      closing.abort();
      for (const wake of [...wakers]) wake();
    },
  };
}
