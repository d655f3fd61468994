import { handle } from "hono/aws-lambda";
import { lazyApp } from "../shared/http/function-app";
import { defineDeliveryFunction } from "../shared/notifications/delivery-function";
import { isSmsNotification, renderSms, type SmsNotification } from "../shared/notifications/templates";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./notify-sms.endpoint";

/**
 * `POST /jobs/sms`: QStash delivers sealed `sms.otp` notifications here; each is verified, opened
 * and texted once through Twilio. This is the only function that loads the twilio SDK (~30 MB,
 * ~0.3 s), and only on the first verified delivery of a cold start (DESIGN.md §2 "Vendor SDK weight").
 * Twilio has no idempotency key, so the consumer's per-notification lock and "sent" mark are what
 * keep a redelivery from texting twice.
 */
export const createApp = defineDeliveryFunction<SmsNotification>(spec, {
  topic: "sms",
  accepts: isSmsNotification,
  missingProviderConfig: ({ sms }) => [
    ...(sms.twilioSid ? [] : ["TWILIO_SID"]),
    ...(sms.twilioAuthToken ? [] : ["TWILIO_AUTH_TOKEN"]),
    ...(sms.twilioNumber ? [] : ["TWILIO_NUMBER"]),
  ],
  async createSender({ config }) {
    const { createTwilioSms } = await import("../shared/adapters/twilio-sms");
    const sms = createTwilioSms({
      accountSid: config.sms.twilioSid ?? "",
      authToken: config.sms.twilioAuthToken ?? "",
      from: config.sms.twilioNumber ?? "",
      ...(config.sms.twilioBaseUrl ? { baseUrl: config.sms.twilioBaseUrl } : {}),
    });
    return (message, notificationId) =>
      sms.send({
        to: message.to,
        body: renderSms(message, { appName: config.appName }),
        idempotencyKey: notificationId,
      });
  },
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
