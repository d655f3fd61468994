/**
 * The port scheduled jobs publish their continuations through (QStash in production, the local
 * emulator in development): a message to the job's own `POST /jobs/<name>` function, signed by
 * QStash on delivery like every other background message.
 */

/** One continuation (or a run requested by hand) of a job. */
export interface JobMessage {
  /** The job's name (`bloom-rebuild`); the message goes to `${APP_URL}/jobs/<job>`. */
  job: string;
  /** Serialized JSON body (run id, part number, cursor); never PII. */
  body: string;
  /**
   * QStash `Upstash-Deduplication-Id`: a second publish with the same id is accepted once, so a
   * retried delivery that publishes the same continuation again does not fork the run.
   */
  deduplicationId: string;
}

/** Publishes job messages. @throws on transport failure or refusal (the job answers 5xx and is retried). */
export interface JobQueue {
  publish(message: JobMessage): Promise<{ messageId: string }>;
}
