import * as z from "zod";
import { optionalMatching, optionalString, optionalUrl } from "./fields";
import { requiredInProduction, type Section, settle } from "./section";

/**
 * The cloud services the service calls: Resend (mail), Twilio (SMS) and QStash (background
 * delivery). A `…BaseUrl` points a client at another endpoint (the local emulators); absent, the
 * provider's own.
 */
export interface ProvidersConfig {
  mail: {
    /** Sender address. */
    from: string;
    /** Sender display name (`MAIL_FROM_NAME`, else the app name). */
    fromName: string;
    resendApiKey: string | undefined;
    resendBaseUrl: string | undefined;
  };
  sms: {
    twilioSid: string | undefined;
    twilioAuthToken: string | undefined;
    /** Sender number, E.164 (`+15551234567`). */
    twilioNumber: string | undefined;
    twilioBaseUrl: string | undefined;
  };
  qstash: {
    url: string | undefined;
    token: string | undefined;
    /** Keys that verify the signature of QStash's calls to the delivery functions (current and next, for rotation). */
    currentSigningKey: string | undefined;
    nextSigningKey: string | undefined;
  };
}

/** Variables of the providers section. */
export const providersEnv = z.object({
  MAIL_FROM: z.string().trim().email("expected an email address").default("no-reply@localhost.test"),
  MAIL_FROM_NAME: z.string().trim().min(1).max(100).optional(),
  RESEND_API_KEY: optionalString,
  RESEND_BASE_URL: optionalUrl,
  TWILIO_SID: optionalString,
  TWILIO_AUTH_TOKEN: optionalString,
  TWILIO_NUMBER: optionalMatching(/^\+[1-9]\d{6,14}$/, "expected an E.164 number, e.g. +15551234567"),
  TWILIO_BASE_URL: optionalUrl,
  QSTASH_URL: optionalUrl,
  QSTASH_TOKEN: optionalString,
  QSTASH_CURRENT_SIGNING_KEY: optionalString,
  QSTASH_NEXT_SIGNING_KEY: optionalString,
});

/**
 * Maps the provider variables. Production needs every provider: the QStash token and both signing
 * keys, the Resend API key, and the Twilio account, token and sender number.
 * @param appName the sender name when `MAIL_FROM_NAME` is not set.
 */
export function parseProviders(
  env: z.output<typeof providersEnv>,
  { production, appName }: { production: boolean; appName: string },
): Section<ProvidersConfig> {
  const problems = production
    ? requiredInProduction(env, [
        ["QSTASH_TOKEN", "background delivery"],
        ["QSTASH_CURRENT_SIGNING_KEY", "QStash signature verification"],
        ["QSTASH_NEXT_SIGNING_KEY", "QStash signature verification"],
        ["RESEND_API_KEY", "email"],
        ["TWILIO_SID", "SMS"],
        ["TWILIO_AUTH_TOKEN", "SMS"],
        ["TWILIO_NUMBER", "SMS sender"],
      ])
    : [];
  return settle(problems, () => ({
    mail: {
      from: env.MAIL_FROM,
      fromName: env.MAIL_FROM_NAME ?? appName,
      resendApiKey: env.RESEND_API_KEY,
      resendBaseUrl: env.RESEND_BASE_URL,
    },
    sms: {
      twilioSid: env.TWILIO_SID,
      twilioAuthToken: env.TWILIO_AUTH_TOKEN,
      twilioNumber: env.TWILIO_NUMBER || undefined,
      twilioBaseUrl: env.TWILIO_BASE_URL,
    },
    qstash: {
      url: env.QSTASH_URL,
      token: env.QSTASH_TOKEN,
      currentSigningKey: env.QSTASH_CURRENT_SIGNING_KEY,
      nextSigningKey: env.QSTASH_NEXT_SIGNING_KEY,
    },
  }));
}
