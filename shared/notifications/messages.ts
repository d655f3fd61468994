import * as z from "zod";
import type { KeyRing } from "../crypto/envelope";
import type { Queue, QueueTopic } from "../ports/notifications";

/**
 * What an `email.mfa_changed` notice tells the account's address about its second factor: an
 * enrolment change, a recovery code spent, or a wrong second-factor code after a correct password.
 */
export const MFA_EVENTS = [
  "totp_enabled",
  "totp_disabled",
  "sms_enabled",
  "sms_disabled",
  "recovery_codes_regenerated",
  "recovery_code_used",
  "verification_failed",
  "change_failed",
] as const;
/** One {@link MFA_EVENTS} entry. */
export type MfaEvent = (typeof MFA_EVENTS)[number];

/**
 * The typed messages use-cases send. Each carries the recipient and what the template needs;
 * PII (address, name, links with tokens, codes) travels only inside the sealed part of the queue body.
 */
const kind = z.string().min(1).max(32);
const name = z.string().max(200);
const link = z.url();
export const NotificationSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("email.verify"), kind, to: z.email(), name, link }),
  z.object({ type: z.literal("email.welcome"), kind, to: z.email(), name }),
  z.object({ type: z.literal("email.signup_attempt"), kind, to: z.email(), name }),
  z.object({ type: z.literal("email.password_reset"), kind, to: z.email(), name, link }),
  z.object({ type: z.literal("email.password_changed"), kind, to: z.email(), name }),
  z.object({ type: z.literal("email.account_deleted"), kind, to: z.email(), name }),
  z.object({ type: z.literal("email.mfa_changed"), kind, to: z.email(), name, event: z.enum(MFA_EVENTS) }),
  z.object({
    type: z.literal("sms.otp"),
    kind,
    to: z.string().regex(/^\+[1-9]\d{6,14}$/),
    code: z.string().regex(/^\d{6}$/),
  }),
]);

/** One notification, before sealing. */
export type Notification = z.infer<typeof NotificationSchema>;
/** A notification type, e.g. `email.verify`. */
export type NotificationType = Notification["type"];

/** The JSON body the queue carries: only the type, kind and id are visible; the rest is sealed. */
const WireSchema = z.object({
  v: z.literal(1),
  id: z.string().regex(/^[A-Za-z0-9_:.-]{1,200}$/),
  type: z.string(),
  sealed: z.string(),
});

const aad = (id: string, type: string) => `notification|${type}|${id}`;

/** Which delivery function a notification goes to. */
export function topicOf(type: NotificationType): QueueTopic {
  return type.startsWith("sms.") ? "sms" : "email";
}

/** Publishes notifications through the queue, sealed with the key ring (QStash sees ciphertext only). */
export interface Notifier {
  /**
   * Seals and publishes one notification.
   * @param id deduplication id (`[A-Za-z0-9_:.-]`, ≤200 chars): publishing the same id twice delivers once.
   * @throws whatever the queue throws on transport failure.
   */
  notify(message: Notification, id: string): Promise<void>;
}

/** Creates the {@link Notifier} over a queue port and the field-encryption key ring. */
export function createNotifier(queue: Queue, ring: KeyRing): Notifier {
  return {
    async notify(message, id) {
      const sealed = await ring.seal(JSON.stringify(message), aad(id, message.type));
      const body = JSON.stringify({ v: 1, id, type: message.type, sealed });
      await queue.publish({ topic: topicOf(message.type), deduplicationId: id, body });
    },
  };
}

/**
 * Opens a queue body written by {@link createNotifier}.
 * @returns the notification and its id, or `null` when the body is malformed or does not decrypt
 *   (a permanent failure: redelivery cannot fix it).
 */
export async function openNotification(
  ring: KeyRing,
  body: string,
): Promise<{ id: string; message: Notification } | null> {
  try {
    const wire = WireSchema.parse(JSON.parse(body));
    const message = NotificationSchema.parse(
      JSON.parse(await ring.openText(wire.sealed, aad(wire.id, wire.type))),
    );
    return message.type === wire.type ? { id: wire.id, message } : null;
  } catch {
    return null;
  }
}
