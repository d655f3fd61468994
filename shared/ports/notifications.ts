/**
 * Ports for outgoing messages: the queue that carries them (QStash in production, the local
 * emulator in development) and the providers that deliver them (Resend email, Twilio SMS).
 * Use-cases publish; only the `notify-email` / `notify-sms` functions call a provider.
 */

/** Where a queued message goes: the email function or the SMS function. */
export type QueueTopic = "email" | "sms";

/** One message to publish. `body` is what the queue sees: already encrypted when it carries PII or secrets. */
export interface QueueMessage {
  topic: QueueTopic;
  /** Deduplication id: a redelivery or a repeated publish with the same id is sent once. */
  deduplicationId: string;
  /** Serialized message body (JSON string). */
  body: string;
}

/** Publishes messages for background delivery. Throws on transport failure (the caller decides). */
export interface Queue {
  publish(message: QueueMessage): Promise<{ messageId: string }>;
}

/** Result of a provider send: transient failures are retried by the queue, permanent ones are acknowledged. */
export type SendResult = { ok: true; id: string } | { ok: false; permanent: boolean; code: string };

/** One email to deliver. */
export interface OutgoingEmail {
  to: string;
  subject: string;
  html: string;
  text: string;
  /** Provider idempotency key (Resend `Idempotency-Key`): a retry with the same key sends nothing twice. */
  idempotencyKey: string;
  /** Message type, e.g. `email.verify`, sent as a provider tag for analytics. */
  tag: string;
}

/** Sends email through a provider (Resend). */
export interface Mailer {
  send(email: OutgoingEmail): Promise<SendResult>;
}

/** One SMS to deliver. `to` is E.164. */
export interface OutgoingSms {
  to: string;
  body: string;
  idempotencyKey: string;
}

/** Sends SMS through a provider (Twilio). */
export interface Sms {
  send(sms: OutgoingSms): Promise<SendResult>;
}

/** Input of {@link SignatureVerifier.verify}. */
export interface QstashDeliveryToVerify {
  /** The `Upstash-Signature` header; `undefined` when absent. */
  signature: string | undefined;
  /** The request body exactly as received (not re-serialised): its SHA-256 is signed. */
  rawBody: string;
  /**
   * The configured public URL of this function (what the message was published to), never the URL
   * the platform reports: behind a Lambda function URL `c.req.url` names the lambda-url host.
   */
  url: string;
}

/** Verifies QStash delivery signatures. */
export interface SignatureVerifier {
  /** `true` only for a valid, unexpired signature over this body and URL; never throws for bad input. */
  verify(delivery: QstashDeliveryToVerify): Promise<boolean>;
}
