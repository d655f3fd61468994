/**
 * Capture endpoints that the REAL Resend and Twilio SDKs are pointed at in the local runtime and
 * tests (Resend `baseUrl`, Twilio `httpClient` rewrite): they answer like the providers
 * (protocols.md §3, §4) and store what was sent in an {@link Outbox}. Local runtime and tests only.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { Hono } from "hono";
import { type CaptureProvider, createOutbox, type Outbox } from "./outbox";
import { createOutboxApp } from "./outbox-app";
import { serveAppLocally } from "./serve-app";

/** Credentials the capture endpoints accept: the ones the app under test is configured with. */
export interface ProviderCaptureCredentials {
  /** The `re_…` key the Resend SDK sends as `Authorization: Bearer`. */
  resendApiKey: string;
  /** Twilio Account SID (`AC…`): Basic-auth user and path segment. */
  twilioSid: string;
  /** Twilio Auth Token: Basic-auth password. */
  twilioAuthToken: string;
}

/** A running capture server. */
export interface RunningProviderCapture {
  /** Base URL for both SDKs, e.g. `http://127.0.0.1:49153` (Resend appends `/emails`). */
  url: string;
  outbox: Outbox;
  close(): Promise<void>;
}

const TAG_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;
const E164 = /^\+[1-9]\d{1,14}$/;

function digestEquals(a: string, b: string): boolean {
  const hash = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(hash(a), hash(b));
}

function resendError(c: Context, status: number, name: string, message: string) {
  return c.json({ statusCode: status, name, message }, status as 400);
}

function defaultFailureBody(provider: CaptureProvider, status: number): Record<string, unknown> {
  if (provider === "email") {
    if (status === 429)
      return { statusCode: 429, name: "rate_limit_exceeded", message: "Too many requests." };
    if (status >= 500)
      return { statusCode: status, name: "internal_server_error", message: "Internal server error." };
    return { statusCode: status, name: "validation_error", message: "Forced failure (outbox.failNext)." };
  }
  if (status === 400) {
    return {
      code: 21211,
      message: "Invalid 'To' Phone Number",
      more_info: "https://www.twilio.com/docs/errors/21211",
      status,
    };
  }
  if (status === 429) return { code: 20429, message: "Too Many Requests", status };
  return { code: 20500, message: "Internal Server Error", status };
}

/**
 * Creates the Resend capture app: `POST /emails` as Resend answers it. Missing key → 401
 * `missing_api_key`; another key → 401 `validation_error` "API key is invalid" (Resend's answer on
 * sending endpoints); bad payload (no from/to/subject, no html/text, tags not `[A-Za-z0-9_-]`) →
 * 422 `validation_error`; an `Idempotency-Key` seen before with the same body → 200 with the first
 * `{id}` and nothing stored, with another body → 409 `invalid_idempotent_request`; else 200 `{id}`.
 * `outbox.failNext({provider:"email"})` failures are answered before anything is stored.
 */
export function createResendCaptureApp(outbox: Outbox, apiKey: string): Hono {
  const app = new Hono();
  const idempotency = new Map<string, { fingerprint: string; id: string }>();

  app.post("/emails", async (c) => {
    const authorization = c.req.header("authorization") ?? "";
    if (!authorization.startsWith("Bearer ") || authorization.length === "Bearer ".length) {
      return resendError(c, 401, "missing_api_key", "Missing API key in the authorization header.");
    }
    if (!digestEquals(authorization.slice("Bearer ".length), apiKey)) {
      return resendError(c, 401, "validation_error", "API key is invalid");
    }
    const forced = outbox.takeFailure("email");
    if (forced)
      return c.json(forced.body ?? defaultFailureBody("email", forced.status), forced.status as 500);

    const raw = await c.req.text();
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return resendError(c, 422, "validation_error", "Invalid JSON body.");
    }
    const { from, to, subject, html, text, tags } = payload;
    const recipients = typeof to === "string" ? [to] : to;
    if (typeof from !== "string" || from === "")
      return resendError(c, 422, "validation_error", "Missing `from` field.");
    if (!Array.isArray(recipients) || recipients.length < 1 || recipients.length > 50) {
      return resendError(c, 422, "validation_error", "`to` must hold 1 to 50 addresses.");
    }
    if (!recipients.every((r) => typeof r === "string" && r.includes("@"))) {
      return resendError(c, 422, "validation_error", "Invalid `to` field.");
    }
    if (typeof subject !== "string")
      return resendError(c, 422, "validation_error", "Missing `subject` field.");
    if (typeof html !== "string" && typeof text !== "string") {
      return resendError(c, 422, "validation_error", "Missing `html` or `text` field.");
    }
    const tagList = tags === undefined ? [] : tags;
    if (
      !Array.isArray(tagList) ||
      !tagList.every((t: { name?: unknown; value?: unknown }) => {
        return (
          typeof t?.name === "string" &&
          TAG_PATTERN.test(t.name) &&
          typeof t.value === "string" &&
          TAG_PATTERN.test(t.value)
        );
      })
    ) {
      return resendError(
        c,
        422,
        "validation_error",
        "Tags should only contain ASCII letters, numbers, underscores, or dashes.",
      );
    }

    const key = c.req.header("idempotency-key");
    const fingerprint = createHash("sha256").update(raw).digest("hex");
    if (key !== undefined) {
      if (key.length < 1 || key.length > 256) {
        return resendError(c, 400, "invalid_idempotency_key", "The key must be between 1-256 chars.");
      }
      const seen = idempotency.get(key);
      if (seen && seen.fingerprint !== fingerprint) {
        return resendError(
          c,
          409,
          "invalid_idempotent_request",
          "Same idempotency key used with a different request payload.",
        );
      }
      if (seen) return c.json({ id: seen.id });
    }
    const id = randomUUID();
    if (key !== undefined) idempotency.set(key, { fingerprint, id });
    outbox.addEmail({
      id,
      to: (recipients as string[]).join(", "),
      from,
      subject,
      html: typeof html === "string" ? html : "",
      text: typeof text === "string" ? text : "",
      tags: tagList as { name: string; value: string }[],
      ...(key === undefined ? {} : { idempotencyKey: key }),
    });
    return c.json({ id });
  });
  return app;
}

function twilioError(c: Context, status: number, code: number, message: string) {
  return c.json(
    { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
    status as 400,
  );
}

function twilioDate(date: Date): string {
  return date.toUTCString().replace("GMT", "+0000");
}

/**
 * Creates the Twilio capture app: `POST /2010-04-01/Accounts/:sid/Messages.json` with Basic auth
 * `sid:token` (else 401, code 20003) and a form body `To`, `From` (or `MessagingServiceSid`),
 * `Body`. Missing `To` → 400 code 21604, `To` not E.164 → 400 code 21211, no sender → 21603, no body
 * → 21602, body over 1600 chars → 21617. Success: 201 with Twilio's message JSON (`sid` `SM…`,
 * `status: "queued"`). `outbox.failNext({provider:"sms"})` failures are answered first.
 */
export function createTwilioCaptureApp(outbox: Outbox, accountSid: string, authToken: string): Hono {
  const app = new Hono();
  app.post("/2010-04-01/Accounts/:sid/Messages.json", async (c) => {
    const authorization = c.req.header("authorization") ?? "";
    const decoded = authorization.startsWith("Basic ")
      ? Buffer.from(authorization.slice("Basic ".length), "base64").toString("utf8")
      : "";
    const ok =
      digestEquals(decoded, `${accountSid}:${authToken}`) && digestEquals(c.req.param("sid"), accountSid);
    if (!ok) {
      c.header("WWW-Authenticate", 'Basic realm="Twilio API"');
      return twilioError(c, 401, 20003, "Authenticate");
    }
    const forced = outbox.takeFailure("sms");
    if (forced) return c.json(forced.body ?? defaultFailureBody("sms", forced.status), forced.status as 400);

    const form = new URLSearchParams(await c.req.text());
    const to = form.get("To");
    const from = form.get("From") ?? form.get("MessagingServiceSid");
    const body = form.get("Body");
    if (!to) return twilioError(c, 400, 21604, "A 'To' phone number is required.");
    if (!E164.test(to)) return twilioError(c, 400, 21211, `Invalid 'To' Phone Number: ${to}`);
    if (!from) return twilioError(c, 400, 21603, "A 'From' phone number is required.");
    if (!body) return twilioError(c, 400, 21602, "Message body is required.");
    if (body.length > 1600) {
      return twilioError(c, 400, 21617, "The concatenated message body exceeds the 1600 character limit.");
    }

    const sid = `SM${randomBytes(16).toString("hex")}`;
    const captured = outbox.addSms({ id: sid, to, from, body });
    const created = twilioDate(new Date(captured.createdAt));
    const uri = `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`;
    return c.json(
      {
        account_sid: accountSid,
        api_version: "2010-04-01",
        body,
        date_created: created,
        date_sent: null,
        date_updated: created,
        direction: "outbound-api",
        error_code: null,
        error_message: null,
        from: form.get("From"),
        messaging_service_sid: form.get("MessagingServiceSid"),
        num_media: "0",
        num_segments: String(Math.max(1, Math.ceil(body.length / 153))),
        price: null,
        price_unit: "USD",
        sid,
        status: "queued",
        subresource_uris: { media: uri.replace(".json", "/Media.json") },
        to,
        uri,
      },
      201,
    );
  });
  return app;
}

/** One app with the Resend and Twilio capture endpoints and the dev outbox routes. */
export function createProviderCaptureApp(outbox: Outbox, credentials: ProviderCaptureCredentials): Hono {
  const app = new Hono();
  app.route("/", createResendCaptureApp(outbox, credentials.resendApiKey));
  app.route("/", createTwilioCaptureApp(outbox, credentials.twilioSid, credentials.twilioAuthToken));
  app.route("/", createOutboxApp(outbox));
  return app;
}

/**
 * Serves {@link createProviderCaptureApp} with a fresh outbox on `127.0.0.1` (a free port unless
 * `port` is given). Point `createResendMailer({ baseUrl: url })` and `createTwilioSms({ baseUrl: url })` at it.
 *
 * @throws the listen error (e.g. `EADDRINUSE`) when `port` is taken.
 */
export async function startProviderCapture(
  options: ProviderCaptureCredentials & { port?: number },
): Promise<RunningProviderCapture> {
  const outbox = createOutbox();
  const server = await serveAppLocally(createProviderCaptureApp(outbox, options).fetch, options.port ?? 0);
  return { url: server.url, outbox, close: () => server.close() };
}
