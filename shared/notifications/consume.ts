/**
 * The consuming side of background delivery (DESIGN.md §7), shared by `notify-email` and
 * `notify-sms`: open the sealed notification whose QStash signature the route's guard verified
 * (`shared/http/signature-guard.ts`), send it at most once, and answer with the status that tells
 * QStash whether to retry (any non-2xx is retried).
 */
import type { KeyRing } from "../crypto/envelope";
import { ERRORS, type ErrorCode } from "../errors";
import { PROBLEM_CONTENT_TYPE, problemBody } from "../http/problem";
import { errorFields, type Logger } from "../observability/logger";
import type { Kv } from "../ports/kv";
import type { SendResult } from "../ports/notifications";
import { type Notification, openNotification } from "./messages";

/** How long a "sent" mark keeps a redelivery or replay of the same notification id from sending again, seconds (7 days). */
export const DELIVERED_MARK_TTL_SECONDS = 7 * 86_400;

/**
 * How long one delivery holds the per-notification send claim, seconds. Longer than a delivery
 * function's timeout (30 s in the manifest), so the claim cannot expire under a send still running;
 * short enough that a crashed delivery is retried by QStash's next attempt.
 */
export const SEND_LOCK_TTL_SECONDS = 60;

/** Value of the delivery mark while one attempt sends (the send lock). */
export const SENDING = "sending";
/** Value of the delivery mark once sent. Any value other than {@link SENDING} (e.g. an older `1`) means sent. */
export const SENT = "sent";

/** Redis keys of the consumer, by notification id (ids are `[A-Za-z0-9_:.-]{1,200}`). */
export const deliveryKeys = {
  /**
   * The one idempotency mark of a notification: absent (never sent, or a failed attempt released
   * it), {@link SENDING} while one attempt holds the send lock (TTL {@link SEND_LOCK_TTL_SECONDS}),
   * {@link SENT} after a successful send (TTL {@link DELIVERED_MARK_TTL_SECONDS}). One key, so
   * taking the lock and reading "already sent" is one atomic command (SET NX GET), and marking
   * sent also releases the lock: two commands per delivery.
   */
  done: (notificationId: string) => `notify:done:${notificationId}`,
};

/** What {@link consumeDelivery} works with. */
export interface DeliveryDeps<M extends Notification> {
  kv: Kv;
  ring: KeyRing;
  /** Which notifications this function delivers (`email.*` or `sms.*`); any other is acknowledged unsent. */
  accepts(message: Notification): message is M;
  /**
   * Sends one notification through the provider. `notificationId` is the provider idempotency key.
   * Outcomes are results; a throw is treated as a fault (500, retried).
   */
  send(message: M, notificationId: string): Promise<SendResult>;
  /** Request-bound logger. Only ids, types and codes are passed to it, never recipients or content. */
  log: Logger;
}

/** One delivery as received, its signature already verified. */
export interface DeliveryRequest {
  /** The body exactly as received and verified (`await c.req.text()`), never re-serialised. */
  rawBody: string;
  /** `Upstash-Message-Id` (logged to correlate with QStash), if sent. */
  messageId: string | undefined;
  /** `Upstash-Retried`: how many earlier attempts failed (0 on the first). */
  retried: number;
}

/**
 * The answer to QStash: `body` is `{status: "sent" | "duplicate" | "discarded" | "failed", code?}`
 * for a 2xx, an RFC 9457 problem (without `request_id`, see {@link deliveryResponse}) otherwise.
 */
export interface DeliveryResult {
  status: number;
  body: Record<string, unknown>;
}

const MESSAGE_ID = /^[A-Za-z0-9_-]{1,128}$/;

const problem = (code: ErrorCode, detail: string): DeliveryResult => {
  const { status } = ERRORS[code];
  return { status, body: problemBody(status, code, detail, undefined) };
};

/**
 * Consumes one QStash delivery whose `Upstash-Signature` the route's guard has verified over this
 * raw body and the configured URL (`requireQstashSignature`: a missing or invalid one never gets
 * here; it is answered 401, limited per address and audited there), in this order:
 * 1. (the guard's) signature check;
 * 2. opens the sealed body: unreadable (malformed, wrong key, tampered) → 200 `discarded`,
 *    logged as `undecodable_message` (redelivery cannot fix it, so it is acknowledged); a message of
 *    a type this function does not deliver → 200 `discarded`, `unexpected_type`;
 * 3. claims the notification's mark (`SET NX GET EX`, one command): held by another attempt →
 *    503 `delivery_in_progress` (QStash retries later), already sent → 200 `duplicate`;
 * 4. sends with the notification id as idempotency key: success → the mark becomes "sent"
 *    (7 days; one SET, which also releases the lock) + 200 `sent`; transient failure → mark
 *    deleted, 503 `provider_unavailable` (retried); permanent failure → mark deleted, logged and
 *    200 `failed` (acknowledged); a throw → mark deleted, 500 `delivery_failed` (retried).
 * Redis cost of a delivery: two commands (claim, mark) on success, two (claim, release) on failure.
 * Redis unreachable → 503 `service_unavailable`. If the mark cannot be written after a successful
 * send, the answer is still 200 (a retry would send twice) and the lock is left to expire.
 *
 * Never throws for a bad delivery. Logs carry only the QStash message id, the notification type,
 * the attempt number and result codes.
 */
export async function consumeDelivery<M extends Notification>(
  deps: DeliveryDeps<M>,
  req: DeliveryRequest,
): Promise<DeliveryResult> {
  // The message id header is not signed: log it only when it looks like an id, never as free text.
  const messageId = req.messageId !== undefined && MESSAGE_ID.test(req.messageId) ? req.messageId : null;
  let log = deps.log.child({ message_id: messageId, attempt: req.retried + 1 });
  const opened = await openNotification(deps.ring, req.rawBody);
  if (!opened) {
    log.error("delivery discarded: body cannot be opened", {
      event: "delivery_discarded",
      code: "undecodable_message",
    });
    return { status: 200, body: { status: "discarded", code: "undecodable_message" } };
  }
  const { id, message } = opened;
  log = log.child({ message_type: message.type });
  if (!deps.accepts(message)) {
    log.error("delivery discarded: type not delivered here", {
      event: "delivery_discarded",
      code: "unexpected_type",
    });
    return { status: 200, body: { status: "discarded", code: "unexpected_type" } };
  }

  const markKey = deliveryKeys.done(id);
  const release = () =>
    deps.kv.del(markKey).catch((err: unknown) => {
      log.warn("send lock not released; it expires on its own", {
        code: "lock_release_failed",
        ...errorFields(err),
      });
    });
  let state: string | null;
  try {
    // One atomic command takes the lock when the mark is absent, or tells who has it: a holder
    // turns its lock into the "sent" mark, so whoever claims next is certain to see it.
    state = await deps.kv.setNxGet(markKey, SENDING, SEND_LOCK_TTL_SECONDS);
  } catch (err) {
    log.error("delivery deferred: redis unavailable", {
      code: "service_unavailable",
      service: "redis",
      ...errorFields(err),
    });
    return problem("service_unavailable", "A required service is unavailable (redis)");
  }
  if (state === SENDING) {
    log.info("delivery deferred: another attempt is sending", {
      event: "delivery_deferred",
      code: "delivery_in_progress",
    });
    return problem("delivery_in_progress", "This notification is being sent by another attempt");
  }
  if (state !== null) {
    log.info("delivery skipped: already sent", { event: "delivery_duplicate", outcome: "duplicate" });
    return { status: 200, body: { status: "duplicate" } };
  }

  let result: SendResult;
  try {
    result = await deps.send(message, id);
  } catch (err) {
    await release();
    log.error("delivery failed: send threw", {
      event: "delivery_failed",
      code: "delivery_failed",
      ...errorFields(err),
    });
    return problem("delivery_failed", "The notification could not be sent");
  }

  if (!result.ok) {
    await release();
    if (result.permanent) {
      log.error("delivery failed permanently; acknowledged", {
        event: "delivery_failed",
        outcome: "permanent",
        code: result.code,
      });
      return { status: 200, body: { status: "failed", code: result.code } };
    }
    log.warn("delivery failed transiently; QStash retries", {
      event: "delivery_failed",
      outcome: "transient",
      code: result.code,
    });
    return problem("provider_unavailable", "The delivery provider is unavailable; retry later");
  }

  try {
    // Overwrites this attempt's lock: marked sent and unlocked in one command.
    await deps.kv.set(markKey, SENT, { ttlSeconds: DELIVERED_MARK_TTL_SECONDS });
  } catch (err) {
    // Sent but not marked: the lock (still held) covers the next minute, and Resend's
    // idempotency key covers email for 24 h. Answering 5xx here would make QStash send it again.
    log.error("sent, but the delivered mark was not written", { code: "mark_failed", ...errorFields(err) });
  }
  log.info("delivered", { event: "delivery_sent", outcome: "sent" });
  return { status: 200, body: { status: "sent" } };
}

/**
 * Turns a {@link DeliveryResult} into the HTTP response: JSON for 2xx, `application/problem+json`
 * carrying `request_id` otherwise.
 */
export function deliveryResponse(result: DeliveryResult, requestId: string | undefined): Response {
  const isProblem = result.status >= 400;
  const body = isProblem && requestId ? { ...result.body, request_id: requestId } : result.body;
  return new Response(JSON.stringify(body), {
    status: result.status,
    headers: { "content-type": isProblem ? PROBLEM_CONTENT_TYPE : "application/json" },
  });
}
