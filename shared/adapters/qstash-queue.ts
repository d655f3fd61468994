import { Client } from "@upstash/qstash";
import { AuthError } from "../errors";
import type { JobQueue } from "../ports/jobs";
import type { Queue, QueueMessage, QueueTopic } from "../ports/notifications";

/** Options of {@link createQstashQueue}. */
export interface QstashQueueOptions {
  /** QStash API base (`QSTASH_URL`); the local emulator's URL in development. @default the SDK's (env `QSTASH_URL`, else Upstash's) */
  baseUrl?: string;
  /** `QSTASH_TOKEN`. */
  token: string;
  /** Public URL of the function that consumes each topic (what deliveries are signed for). */
  destinations: Record<QueueTopic, string>;
  /** Delivery retries after the first attempt (`Upstash-Retries`). @default 3 (QStash's default) */
  retries?: number;
}

/**
 * Creates the {@link Queue} over QStash with the real `@upstash/qstash` `Client`. Each message is
 * published to its topic's destination URL with `Content-Type: application/json` and
 * `Upstash-Deduplication-Id`, so a repeated publish is accepted once (QStash answers with the first
 * message id). `devMode: false` is passed so a stray `QSTASH_DEV` can never redirect production
 * traffic to the SDK's fixed dev credentials (protocols.md §2).
 *
 * Only network errors are retried by the SDK here (twice, 100 ms then 200 ms): publish runs inside an
 * API request, which must not stall for the SDK's default ~4 s of backoff.
 *
 * @throws AuthError `queue_unavailable` (503) when QStash cannot be reached or rejects the publish
 *   (the cause, e.g. `QstashError` 401, is kept for the log).
 */
export function createQstashQueue(options: QstashQueueOptions): Queue {
  const client = qstashClient(options);
  return {
    async publish(message: QueueMessage) {
      try {
        const response = await client.publish({
          url: options.destinations[message.topic],
          body: message.body,
          headers: { "Content-Type": "application/json" },
          deduplicationId: message.deduplicationId,
          ...(options.retries === undefined ? {} : { retries: options.retries }),
        });
        return { messageId: response.messageId };
      } catch (cause) {
        throw new AuthError("queue_unavailable", { cause });
      }
    },
  };
}

/** The QStash client both queues use: no dev mode, no telemetry, short network retries (see {@link createQstashQueue}). */
function qstashClient(options: Pick<QstashQueueOptions, "baseUrl" | "token">): Client {
  return new Client({
    token: options.token,
    ...(options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl }),
    devMode: false,
    enableTelemetry: false,
    retry: { retries: 2, backoff: (retryCount) => 100 * 2 ** retryCount },
  });
}

/** Options of {@link createQstashJobQueue}. */
export interface QstashJobQueueOptions {
  /** QStash API base (`QSTASH_URL`). @default the SDK's */
  baseUrl?: string;
  /** `QSTASH_TOKEN`. */
  token: string;
  /** The public base URL (`APP_URL`): a job's messages go to `${appUrl}/jobs/<job>`. */
  appUrl: string;
}

/**
 * Creates the {@link JobQueue} over QStash with the real `@upstash/qstash` `Client`: each message
 * is published to `${appUrl}/jobs/<job>` with `Content-Type: application/json` and its
 * `Upstash-Deduplication-Id`, with QStash's default retries (a failed delivery of a part is
 * retried and resumes from the job's saved progress).
 * @throws AuthError `queue_unavailable` (503) from `publish` when QStash refuses or cannot be reached.
 */
export function createQstashJobQueue(options: QstashJobQueueOptions): JobQueue {
  const client = qstashClient(options);
  return {
    async publish(message) {
      try {
        const response = await client.publish({
          url: `${options.appUrl}/jobs/${message.job}`,
          body: message.body,
          headers: { "Content-Type": "application/json" },
          deduplicationId: message.deduplicationId,
        });
        return { messageId: response.messageId };
      } catch (cause) {
        throw new AuthError("queue_unavailable", { cause });
      }
    },
  };
}
