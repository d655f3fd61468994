import { handle } from "hono/aws-lambda";
import { lazyApp } from "../shared/http/function-app";
import { defineDeliveryFunction } from "../shared/notifications/delivery-function";
import { type EmailNotification, isEmailNotification, renderEmail } from "../shared/notifications/templates";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./notify-email.endpoint";

/** `"Name" <address>`: the display name is quoted when it holds characters RFC 5322 reserves. */
function sender(name: string, address: string): string {
  const clean = name.replace(/[\r\n"\\]/g, "").trim();
  if (clean === "") return address;
  return /^[\p{L}\p{N} !#$%&'*+/=?^_`{|}~-]+$/u.test(clean)
    ? `${clean} <${address}>`
    : `"${clean}" <${address}>`;
}

/**
 * `POST /jobs/email`: QStash delivers sealed `email.*` notifications here; each is verified, opened,
 * rendered and sent once through Resend (the notification id is Resend's `Idempotency-Key`).
 * See `defineDeliveryFunction` for the status codes QStash acts on.
 */
export const createApp = defineDeliveryFunction<EmailNotification>(spec, {
  topic: "email",
  accepts: isEmailNotification,
  missingProviderConfig: (config) => (config.mail.resendApiKey ? [] : ["RESEND_API_KEY"]),
  async createSender({ config }) {
    const { createResendMailer } = await import("../shared/adapters/resend-mailer");
    const mailer = createResendMailer({
      apiKey: config.mail.resendApiKey ?? "",
      from: sender(config.mail.fromName, config.mail.from),
      ...(config.mail.resendBaseUrl ? { baseUrl: config.mail.resendBaseUrl } : {}),
    });
    return (message, notificationId) => {
      const { subject, html, text } = renderEmail(message, { appName: config.appName });
      return mailer.send({
        to: message.to,
        subject,
        html,
        text,
        idempotencyKey: notificationId,
        tag: message.type,
      });
    };
  },
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
