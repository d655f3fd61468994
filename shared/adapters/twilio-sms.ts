// The twilio SDK (~30 MB, ~0.3 s to load) is imported here and nowhere else, so only the SMS
// function pays for it (DESIGN.md §2 "Vendor SDK weight").
import twilio from "twilio";
import type { OutgoingSms, SendResult, Sms } from "../ports/notifications";

/** Options of {@link createTwilioSms}. */
export interface TwilioSmsOptions {
  /** `TWILIO_ACCOUNT_SID` (`AC…`). */
  accountSid: string;
  /** `TWILIO_AUTH_TOKEN`. */
  authToken: string;
  /** Sender: an E.164 number, or a Messaging Service SID (`MG…`). */
  from: string;
  /** API origin replacing `https://api.twilio.com`; the local capture server's URL in development. */
  baseUrl?: string;
  /** Per-request timeout, milliseconds. @default 10000 */
  timeoutMs?: number;
}

type RequestOptions = Parameters<twilio.RequestClient["request"]>[0];

/**
 * A `RequestClient` that sends every API call to `baseUrl` instead of Twilio's hosts: Twilio has no
 * base-URL setting, and `edge`/`region` only change the host within twilio.com (protocols.md §4).
 */
function redirectingRequestClient(baseUrl: string, timeoutMs: number): twilio.RequestClient {
  const origin = baseUrl.replace(/\/+$/, "");
  class RedirectingRequestClient extends twilio.RequestClient {
    override request<TData>(opts: RequestOptions & { data?: TData }) {
      const target = new URL(opts.uri);
      return super.request<TData>({ ...opts, uri: `${origin}${target.pathname}${target.search}` });
    }
  }
  return new RedirectingRequestClient({ timeout: timeoutMs });
}

/**
 * Classifies a failed send. A `RestException` carries Twilio's HTTP status and error `code`
 * (e.g. 21211 invalid number, 21610 unsubscribed recipient): 4xx other than 429 are permanent,
 * 429 and 5xx transient. Anything else (DNS, reset, timeout from axios) is a transient network error.
 */
function classify(error: unknown): SendResult {
  if (error instanceof twilio.RestException) {
    const transient = error.status === 429 || error.status >= 500;
    return { ok: false, permanent: !transient, code: `twilio_${error.code ?? error.status}` };
  }
  return { ok: false, permanent: false, code: "network_error" };
}

/**
 * Creates the {@link Sms} port over the real `twilio` SDK (`messages.create`, form body
 * `To`/`From`/`Body`, Basic auth). The SDK's own 429 auto-retry stays off: the queue owns retries.
 * Twilio's Messages API has no idempotency key, so `idempotencyKey` is not sent; the consumer's
 * message-id mark (DESIGN.md §7) is what keeps a redelivery from texting twice.
 * Outcomes are results: `{ok:true, id: "SM…"}`, or `{ok:false, permanent, code}` (see classify).
 */
export function createTwilioSms(options: TwilioSmsOptions): Sms {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const client = twilio(options.accountSid, options.authToken, {
    autoRetry: false,
    timeout: timeoutMs,
    ...(options.baseUrl === undefined
      ? {}
      : { httpClient: redirectingRequestClient(options.baseUrl, timeoutMs) }),
  });
  const sender = options.from.startsWith("MG")
    ? { messagingServiceSid: options.from }
    : { from: options.from };
  return {
    async send(sms: OutgoingSms): Promise<SendResult> {
      try {
        const message = await client.messages.create({ to: sms.to, body: sms.body, ...sender });
        return { ok: true, id: message.sid };
      } catch (error) {
        return classify(error);
      }
    },
  };
}
