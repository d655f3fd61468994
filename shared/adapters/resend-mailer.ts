import { Resend } from "resend";
import type { Mailer, OutgoingEmail, SendResult } from "../ports/notifications";

/** Options of {@link createResendMailer}. */
export interface ResendMailerOptions {
  /** `RESEND_API_KEY` (`re_…`). */
  apiKey: string;
  /** Sender, `"Name <address>"` on a domain verified in Resend. */
  from: string;
  /** API base; the local capture server's URL in development. @default `https://api.resend.com` (or env `RESEND_BASE_URL`) */
  baseUrl?: string;
}

/** Resend tag values allow only ASCII letters, digits, `_` and `-`, at most 256 chars. */
function tagValue(tag: string): string {
  return tag.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 256) || "none";
}

/**
 * Classifies a Resend error. Resend never throws: it returns `{ error: {statusCode, name, message} }`,
 * with `statusCode: null` for a network failure (protocols.md §3). Retry what may succeed later:
 * network, 429 (rate or quota), 5xx, and 409 `concurrent_idempotent_requests` (the first request
 * with this key is still running). Every other 4xx is permanent.
 */
function classify(error: { statusCode?: number | null; name?: string }): SendResult {
  const status = typeof error.statusCode === "number" ? error.statusCode : null;
  const code = error.name ?? (status === null ? "network_error" : `http_${status}`);
  const transient =
    status === null || status === 429 || status >= 500 || error.name === "concurrent_idempotent_requests";
  return { ok: false, permanent: !transient, code };
}

/**
 * Creates the {@link Mailer} over the real `resend` SDK. Each send passes the email's
 * `idempotencyKey` as Resend's `Idempotency-Key`, so a queue redelivery sends nothing twice, and
 * its `tag` as the Resend tag `category` (dots and other characters Resend rejects become `_`,
 * e.g. `email.verify` → `email_verify`). Results, never exceptions, for provider outcomes:
 * `{ok:false, permanent:false}` for network, 429 and 5xx; `{ok:false, permanent:true}` for other 4xx;
 * `code` is Resend's error `name` (e.g. `validation_error`) or `network_error`.
 */
export function createResendMailer(options: ResendMailerOptions): Mailer {
  const resend = new Resend(
    options.apiKey,
    options.baseUrl === undefined ? undefined : { baseUrl: options.baseUrl },
  );
  return {
    async send(email: OutgoingEmail): Promise<SendResult> {
      try {
        const { data, error } = await resend.emails.send(
          {
            from: options.from,
            to: [email.to],
            subject: email.subject,
            html: email.html,
            text: email.text,
            tags: [{ name: "category", value: tagValue(email.tag) }],
          },
          { idempotencyKey: email.idempotencyKey },
        );
        if (error) return classify(error);
        if (!data?.id) return { ok: false, permanent: false, code: "invalid_response" };
        return { ok: true, id: data.id };
      } catch {
        // The SDK converts fetch failures into `error`; anything thrown is equally transient.
        return { ok: false, permanent: false, code: "network_error" };
      }
    },
  };
}
