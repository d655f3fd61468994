import { createServer } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RunningProviderCapture, startProviderCapture } from "../../infra/local/provider-capture";
import { createResendMailer } from "../../shared/adapters/resend-mailer";
import { createTwilioSms } from "../../shared/adapters/twilio-sms";
import type { OutgoingEmail } from "../../shared/ports/notifications";

const RESEND_KEY = "re_test_capture_key";
const TWILIO_SID = `AC${"0".repeat(31)}1`;
const TWILIO_TOKEN = "twilio_test_token";
const FROM_EMAIL = "Auth <auth@example.com>";
const FROM_PHONE = "+15557654321";

let capture: RunningProviderCapture;

/** A loopback URL where nothing listens, for network-failure cases. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

function email(overrides: Partial<OutgoingEmail> = {}): OutgoingEmail {
  return {
    to: "user@example.com",
    subject: "Verify your email",
    html: '<p>Hi</p><a href="https://auth.example.com/verify?token=abc&amp;u=1">Verify</a> <a href="mailto:x@example.com">mail</a>',
    text: "Verify: https://auth.example.com/verify?token=abc&u=1",
    idempotencyKey: "email.verify:u1:1",
    tag: "email.verify",
    ...overrides,
  };
}

beforeAll(async () => {
  capture = await startProviderCapture({
    resendApiKey: RESEND_KEY,
    twilioSid: TWILIO_SID,
    twilioAuthToken: TWILIO_TOKEN,
  });
});

afterAll(async () => {
  await capture?.close();
});

beforeEach(() => {
  capture.outbox.clear();
});

describe("Resend adapter against the capture endpoint", () => {
  const mailer = () => createResendMailer({ apiKey: RESEND_KEY, from: FROM_EMAIL, baseUrl: capture.url });

  it("sends an email once when the same idempotency key is used twice", async () => {
    const first = await mailer().send(email());
    const second = await mailer().send(email());
    expect(first.ok).toBe(true);
    expect(second).toEqual(first);
    const stored = capture.outbox.emails();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      id: first.ok ? first.id : "",
      to: "user@example.com",
      from: FROM_EMAIL,
      subject: "Verify your email",
      text: "Verify: https://auth.example.com/verify?token=abc&u=1",
      idempotencyKey: "email.verify:u1:1",
      tags: [{ name: "category", value: "email_verify" }],
      links: ["https://auth.example.com/verify?token=abc&u=1"],
    });
  });

  it("treats a reused idempotency key with another payload as permanent", async () => {
    expect((await mailer().send(email({ idempotencyKey: "k-conflict" }))).ok).toBe(true);
    const conflict = await mailer().send(email({ idempotencyKey: "k-conflict", subject: "Other" }));
    expect(conflict).toEqual({ ok: false, permanent: true, code: "invalid_idempotent_request" });
    expect(capture.outbox.emails()).toHaveLength(1);
  });

  it("maps a forced 500 to a transient failure, and the retry then goes through", async () => {
    capture.outbox.failNext({ provider: "email", status: 500, times: 1 });
    const failed = await mailer().send(email({ idempotencyKey: "k-500" }));
    expect(failed).toMatchObject({ ok: false, permanent: false });
    expect(capture.outbox.emails()).toHaveLength(0);
    const retried = await mailer().send(email({ idempotencyKey: "k-500" }));
    expect(retried.ok).toBe(true);
    expect(capture.outbox.emails()).toHaveLength(1);
  });

  it("maps a forced 429 to a transient failure", async () => {
    capture.outbox.failNext({ provider: "email", status: 429 });
    expect(await mailer().send(email({ idempotencyKey: "k-429" }))).toEqual({
      ok: false,
      permanent: false,
      code: "rate_limit_exceeded",
    });
  });

  it("maps a forced 422 to a permanent failure", async () => {
    capture.outbox.failNext({ provider: "email", status: 422 });
    expect(await mailer().send(email({ idempotencyKey: "k-422" }))).toEqual({
      ok: false,
      permanent: true,
      code: "validation_error",
    });
    expect(capture.outbox.emails()).toHaveLength(0);
  });

  it("maps an unreachable API to a transient failure", async () => {
    const offline = createResendMailer({ apiKey: RESEND_KEY, from: FROM_EMAIL, baseUrl: await deadUrl() });
    expect(await offline.send(email())).toMatchObject({ ok: false, permanent: false });
  });

  it("answers 401 in Resend's error shape for a missing or wrong API key, and stores nothing", async () => {
    const missing = await fetch(`${capture.url}/emails`, { method: "POST", body: "{}" });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ statusCode: 401, name: "missing_api_key" });
    const wrongKey = createResendMailer({ apiKey: "re_wrong", from: FROM_EMAIL, baseUrl: capture.url });
    expect(await wrongKey.send(email())).toEqual({ ok: false, permanent: true, code: "validation_error" });
    expect(capture.outbox.emails()).toHaveLength(0);
  });
});

describe("Twilio adapter against the capture endpoint", () => {
  const sms = (authToken = TWILIO_TOKEN) =>
    createTwilioSms({ accountSid: TWILIO_SID, authToken, from: FROM_PHONE, baseUrl: capture.url });

  it("captures the SMS with the right To, From and Body under Basic auth", async () => {
    const result = await sms().send({
      to: "+15551234567",
      body: "Your code is 123456",
      idempotencyKey: "otp:1",
    });
    expect(result.ok && result.id.startsWith("SM")).toBe(true);
    expect(capture.outbox.sms()).toEqual([
      {
        id: result.ok ? result.id : "",
        to: "+15551234567",
        from: FROM_PHONE,
        body: "Your code is 123456",
        createdAt: expect.any(String),
      },
    ]);
  });

  it("rejects a wrong auth token (Basic auth is checked) as permanent and stores nothing", async () => {
    const result = await sms("wrong-token").send({ to: "+15551234567", body: "x", idempotencyKey: "otp:2" });
    expect(result).toEqual({ ok: false, permanent: true, code: "twilio_20003" });
    expect(capture.outbox.sms()).toHaveLength(0);
  });

  it("maps a forced 400 with code 21211 to a permanent failure", async () => {
    capture.outbox.failNext({ provider: "sms", status: 400 });
    const result = await sms().send({ to: "+15551234567", body: "x", idempotencyKey: "otp:3" });
    expect(result).toEqual({ ok: false, permanent: true, code: "twilio_21211" });
    expect(capture.outbox.sms()).toHaveLength(0);
  });

  it("maps a forced 500 and a 429 to transient failures", async () => {
    capture.outbox.failNext({ provider: "sms", status: 500 });
    capture.outbox.failNext({ provider: "sms", status: 429 });
    expect(await sms().send({ to: "+15551234567", body: "x", idempotencyKey: "otp:4" })).toMatchObject({
      ok: false,
      permanent: false,
    });
    expect(await sms().send({ to: "+15551234567", body: "x", idempotencyKey: "otp:4" })).toMatchObject({
      ok: false,
      permanent: false,
    });
    expect((await sms().send({ to: "+15551234567", body: "x", idempotencyKey: "otp:4" })).ok).toBe(true);
  });

  it("maps an unreachable API to a transient network error", async () => {
    const offline = createTwilioSms({
      accountSid: TWILIO_SID,
      authToken: TWILIO_TOKEN,
      from: FROM_PHONE,
      baseUrl: await deadUrl(),
    });
    expect(await offline.send({ to: "+15551234567", body: "x", idempotencyKey: "otp:5" })).toEqual({
      ok: false,
      permanent: false,
      code: "network_error",
    });
  });
});

describe("dev outbox", () => {
  const mailer = () => createResendMailer({ apiKey: RESEND_KEY, from: FROM_EMAIL, baseUrl: capture.url });

  it("serves JSON with emails and SMS newest first, ISO timestamps and extracted links", async () => {
    await mailer().send(email({ subject: "older", idempotencyKey: "j1" }));
    await mailer().send(email({ subject: "newer", idempotencyKey: "j2" }));
    await createTwilioSms({
      accountSid: TWILIO_SID,
      authToken: TWILIO_TOKEN,
      from: FROM_PHONE,
      baseUrl: capture.url,
    }).send({ to: "+15551234567", body: "code 654321", idempotencyKey: "s1" });
    const response = await fetch(`${capture.url}/_dev/outbox.json`);
    expect(response.headers.get("content-type")).toContain("application/json");
    const json = (await response.json()) as {
      emails: Record<string, unknown>[];
      sms: Record<string, unknown>[];
    };
    expect(json.emails.map((e) => e.subject)).toEqual(["newer", "older"]);
    expect(Object.keys(json.emails[0] ?? {}).sort()).toEqual(
      ["created_at", "from", "html", "id", "links", "subject", "text", "to"].sort(),
    );
    expect(json.emails[0]).toMatchObject({
      to: "user@example.com",
      links: ["https://auth.example.com/verify?token=abc&u=1"],
    });
    expect(new Date(String(json.emails[0]?.created_at)).toISOString()).toBe(json.emails[0]?.created_at);
    expect(json.sms).toEqual([
      {
        id: expect.stringMatching(/^SM[0-9a-f]{32}$/),
        to: "+15551234567",
        from: FROM_PHONE,
        body: "code 654321",
        created_at: expect.any(String),
      },
    ]);
  });

  it("renders the page with every captured value escaped and only http(s) links clickable", async () => {
    await mailer().send(
      email({
        subject: "<script>alert(1)</script>",
        html: '<p onclick="x()">Hi</p><a href="https://auth.example.com/verify?t=1&amp;q=&quot;x&quot;">go</a><a href="javascript:alert(2)">bad</a>',
        idempotencyKey: "h1",
      }),
    );
    const response = await fetch(`${capture.url}/_dev/outbox`);
    expect(response.headers.get("content-security-policy")).toContain("script-src 'none'");
    const page = await response.text();
    expect(page).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(page).not.toContain("<script");
    // The email HTML only appears inside the sandboxed srcdoc attribute, fully escaped.
    expect(page).toContain('<iframe sandbox="" ');
    expect(page).toContain('srcdoc="&lt;p onclick=&quot;x()&quot;&gt;Hi&lt;/p&gt;');
    expect(page).not.toContain('<p onclick="x()">');
    // The link is a top-level anchor with its quote characters escaped inside the attribute.
    expect(page).toContain('class="email-link" data-email-id="');
    expect(page).toContain('href="https://auth.example.com/verify?t=1&amp;q=%22x%22"');
    expect(page).not.toContain('href="javascript:');
  });
});
