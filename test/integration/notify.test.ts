/**
 * The delivery functions end to end on real parts: a private redis-server behind the Upstash-REST
 * bridge, the QStash emulator fed by the real `@upstash/qstash` Client, the Resend/Twilio capture
 * endpoints reached through the real SDKs, and the `notify-email` / `notify-sms` apps served on a
 * real port. Every delivery the functions see is signed by the emulator or crafted here with jose.
 */
import { randomBytes, randomInt, randomUUID } from "node:crypto";
import { request } from "node:http";
import { base64url, SignJWT } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApp as createEmailApp } from "../../functions/notify-email";
import { createApp as createSmsApp } from "../../functions/notify-sms";
import { type RunningProviderCapture, startProviderCapture } from "../../infra/local/provider-capture";
import { type RunningQstashEmulator, startQstashEmulator } from "../../infra/local/qstash-emulator";
import { type LocalAppServer, serveAppLocally } from "../../infra/local/serve-app";
import { createQstashQueue } from "../../shared/adapters/qstash-queue";
import { parseConfig } from "../../shared/config/schema";
import { createKeyRing, type KeyRing } from "../../shared/crypto/envelope";
import { createNotifier, type Notification, type Notifier } from "../../shared/notifications/messages";
import { renderSms } from "../../shared/notifications/templates";
import { createLogger } from "../../shared/observability/logger";
import type { Queue, QueueMessage } from "../../shared/ports/notifications";
import { createContext } from "../../shared/wiring/context";
import { testEnv } from "../helpers/env";
import { startTestRedis, type TestRedis } from "../helpers/redis";

const QSTASH_TOKEN = `qstash_${randomBytes(16).toString("hex")}`;
const CURRENT_KEY = `sig_${randomBytes(16).toString("base64url")}`;
const NEXT_KEY = `sig_${randomBytes(16).toString("base64url")}`;
const RESEND_KEY = `re_${randomBytes(16).toString("hex")}`;
const TWILIO_SID = `AC${randomBytes(16).toString("hex")}`;
const TWILIO_TOKEN = randomBytes(16).toString("hex");
const FROM_PHONE = "+15005550006";
const APP_NAME = "Acme Auth";

let redis: TestRedis;
let capture: RunningProviderCapture;
let emulator: RunningQstashEmulator;
let server: LocalAppServer;
let appUrl: string;
let ring: KeyRing;
let notifier: Notifier;
/** Seals bodies exactly as the publisher does, without publishing them (for hand-signed deliveries). */
let sealer: Notifier;
const sealed: QueueMessage[] = [];
const logLines: string[] = [];
const captureLog = () =>
  createLogger({ level: "debug", destination: { write: (line: string) => void logLines.push(line) } });
const emulatorLines: string[] = [];
/** Every recipient, name, link token and code used in this file: none may appear in clear in QStash or the logs. */
const secrets: string[] = [];

const unique = () => randomUUID().replaceAll("-", "");

function verifyEmail(): Extract<Notification, { type: "email.verify" }> {
  const token = randomBytes(24).toString("base64url");
  const message = {
    type: "email.verify" as const,
    kind: "User1",
    to: `ada.${unique()}@example.com`,
    name: `Zebulon${unique().slice(0, 8)} <script>`,
    link: `${appUrl}/User1/verify?token=${token}`,
  };
  secrets.push(message.to, message.name, token);
  return message;
}

function otpSms(): Extract<Notification, { type: "sms.otp" }> {
  const message = {
    type: "sms.otp" as const,
    kind: "User1",
    to: `+1555${randomInt(1_000_000, 9_999_999)}`,
    code: String(randomInt(100_000, 1_000_000)),
  };
  secrets.push(message.to, message.to.slice(1), message.code);
  return message;
}

/** Seals a notification into the exact queue body the publisher would send. */
async function seal(message: Notification, id = `test:${unique()}`): Promise<string> {
  await sealer.notify(message, id);
  const body = sealed.at(-1)?.body;
  if (body === undefined) throw new Error("nothing sealed");
  return body;
}

/** Crafts an `Upstash-Signature` as QStash does (protocols.md §2), independently of the emulator. */
async function sign(body: string, url: string, opts: { key?: string; iatSeconds?: number } = {}) {
  const iat = opts.iatSeconds ?? Math.floor(Date.now() / 1000);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)));
  return new SignJWT({ body: base64url.encode(digest) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("Upstash")
    .setSubject(url)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + 300)
    .setJti(`jwt_${unique()}`)
    .sign(new TextEncoder().encode(opts.key ?? CURRENT_KEY));
}

/** POSTs a delivery straight to a function, as QStash would. */
async function deliver(path: "/jobs/email" | "/jobs/sms", body: string, signature: string | undefined) {
  const response = await fetch(`${appUrl}${path}`, {
    method: "POST",
    body,
    headers: {
      "content-type": "application/json",
      "upstash-message-id": `msg_${unique()}`,
      "upstash-retried": "0",
      ...(signature === undefined ? {} : { "upstash-signature": signature }),
    },
  });
  return { status: response.status, type: response.headers.get("content-type"), body: await response.json() };
}

const emulated = (id: string) => emulator.messages().filter((m) => m.body.includes(`"id":"${id}"`));
const logged = () => logLines.map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  redis = await startTestRedis();
  capture = await startProviderCapture({
    resendApiKey: RESEND_KEY,
    twilioSid: TWILIO_SID,
    twilioAuthToken: TWILIO_TOKEN,
  });
  emulator = await startQstashEmulator({
    token: QSTASH_TOKEN,
    currentSigningKey: CURRENT_KEY,
    nextSigningKey: NEXT_KEY,
    retryBaseDelayMs: 5,
    log: (line) => emulatorLines.push(line),
  });
  // Listen before the functions load: their configured public URL (APP_URL) must be this port.
  let route: ((req: Request) => Response | Promise<Response>) | undefined;
  server = await serveAppLocally((req) => (route ? route(req) : new Response("starting", { status: 503 })));
  appUrl = server.url;

  Object.assign(
    process.env,
    testEnv({
      APP_URL: appUrl,
      APP_NAME,
      MAIL_FROM: "no-reply@example.com",
      MAIL_FROM_NAME: APP_NAME,
      UPSTASH_REDIS_REST_URL: redis.restUrl,
      UPSTASH_REDIS_REST_TOKEN: redis.restToken,
      QSTASH_URL: emulator.url,
      QSTASH_TOKEN,
      // Many rejected signatures from one (unknown) address: the per-address budget is tested elsewhere.
      RATE_LIMITS: "job_signature=1000/60",
      QSTASH_CURRENT_SIGNING_KEY: CURRENT_KEY,
      QSTASH_NEXT_SIGNING_KEY: NEXT_KEY,
      RESEND_API_KEY: RESEND_KEY,
      RESEND_BASE_URL: capture.url,
      TWILIO_SID,
      TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
      TWILIO_NUMBER: FROM_PHONE,
      TWILIO_BASE_URL: capture.url,
    }),
  );
  const config = parseConfig(process.env);
  // The functions' real services, with the log captured so it can be scanned.
  const log = createLogger({
    level: "debug",
    destination: { write: (line: string) => void logLines.push(line) },
  });
  const context = createContext(config, { log });
  const email = createEmailApp(context);
  const sms = createSmsApp(context);
  route = (req) => (new URL(req.url).pathname === "/jobs/sms" ? sms.fetch(req) : email.fetch(req));

  ring = await createKeyRing(config.encryption);
  const queue = createQstashQueue({
    baseUrl: emulator.url,
    token: QSTASH_TOKEN,
    destinations: { email: `${appUrl}/jobs/email`, sms: `${appUrl}/jobs/sms` },
    retries: 3,
  });
  notifier = createNotifier(queue, ring);
  const localQueue: Queue = {
    async publish(message) {
      sealed.push(message);
      return { messageId: "local" };
    },
  };
  sealer = createNotifier(localQueue, ring);
});

afterAll(async () => {
  await emulator?.close();
  await server?.close();
  await capture?.close();
  await redis?.stop();
});

beforeEach(() => {
  capture.outbox.clear();
});

describe("notify-email through QStash", () => {
  it("delivers a published verification email exactly once, rendered with its link", async () => {
    const message = verifyEmail();
    const id = `verify:User1:${unique()}`;
    await notifier.notify(message, id);
    await emulator.drain();

    const emails = capture.outbox.emails();
    expect(emails).toHaveLength(1);
    const [email] = emails;
    expect(email).toMatchObject({
      to: message.to,
      from: `${APP_NAME} <no-reply@example.com>`,
      subject: `Verify your email address for ${APP_NAME}`,
      idempotencyKey: id,
      tags: [{ name: "category", value: "email_verify" }],
      links: [message.link, message.link],
    });
    expect(email?.text).toContain(message.link);
    expect(email?.html).toContain(message.name.replace("<script>", "&lt;script&gt;"));
    expect(email?.html).not.toContain("<script>");
    expect(emulated(id).map((m) => [m.state, m.attempts, m.lastStatus])).toEqual([["delivered", 1, 200]]);
  });

  it("sends a notification published twice with the same id once", async () => {
    const message = verifyEmail();
    const id = `verify:User1:${unique()}`;
    await notifier.notify(message, id);
    await notifier.notify(message, id);
    await emulator.drain();
    expect(capture.outbox.emails()).toHaveLength(1);
    expect(emulated(id)).toHaveLength(1);
  });

  it("acknowledges a replay of a delivered message as a duplicate and sends nothing", async () => {
    const id = `verify:User1:${unique()}`;
    await notifier.notify(verifyEmail(), id);
    await emulator.drain();
    const [first] = emulated(id);
    if (!first) throw new Error("not published");
    // A captured delivery replayed inside the signature's 5 minutes: valid signature, same body.
    const replay = await deliver("/jobs/email", first.body, await sign(first.body, `${appUrl}/jobs/email`));
    expect(replay).toMatchObject({ status: 200, body: { status: "duplicate" } });
    expect(capture.outbox.emails()).toHaveLength(1);
  });

  it("retries a transient provider failure and then sends once", async () => {
    capture.outbox.failNext({ provider: "email", status: 500, times: 1 });
    const id = `verify:User1:${unique()}`;
    await notifier.notify(verifyEmail(), id);
    await emulator.drain();
    expect(capture.outbox.emails()).toHaveLength(1);
    expect(emulated(id).map((m) => [m.state, m.attempts, m.lastStatus])).toEqual([["delivered", 2, 200]]);
    expect(logged()).toContainEqual(
      expect.objectContaining({
        event: "delivery_failed",
        outcome: "transient",
        code: "internal_server_error",
      }),
    );
  });

  it("acknowledges a permanent provider failure without retrying or sending", async () => {
    capture.outbox.failNext({ provider: "email", status: 422, times: 1 });
    const id = `verify:User1:${unique()}`;
    await notifier.notify(verifyEmail(), id);
    await emulator.drain();
    expect(capture.outbox.emails()).toHaveLength(0);
    expect(emulated(id).map((m) => [m.state, m.attempts, m.lastStatus])).toEqual([["delivered", 1, 200]]);
    expect(emulator.deadLetters().filter((d) => d.body.includes(id))).toEqual([]);
    expect(logged()).toContainEqual(
      expect.objectContaining({ event: "delivery_failed", outcome: "permanent", code: "validation_error" }),
    );
  });

  it("acknowledges a body that cannot be opened, once, and sends nothing", async () => {
    const queue = createQstashQueue({
      baseUrl: emulator.url,
      token: QSTASH_TOKEN,
      destinations: { email: `${appUrl}/jobs/email`, sms: `${appUrl}/jobs/sms` },
    });
    const id = `garbage_${unique()}`;
    const body = JSON.stringify({
      v: 1,
      id,
      type: "email.verify",
      sealed: "v1.k1.AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB",
    });
    await queue.publish({ topic: "email", deduplicationId: id, body });
    await emulator.drain();
    expect(emulated(id).map((m) => [m.state, m.attempts])).toEqual([["delivered", 1]]);
    expect(capture.outbox.emails()).toHaveLength(0);
    expect(logged()).toContainEqual(expect.objectContaining({ code: "undecodable_message" }));
  });
});

describe("notify-email without provider credentials", () => {
  it("logs the missing variable at cold start and answers 500 (retried), never a silent success", async () => {
    const saved = process.env.RESEND_API_KEY;
    delete process.env.RESEND_API_KEY;
    try {
      // A fresh context = a fresh cold start with this environment.
      const app = createEmailApp(createContext(parseConfig(process.env), { log: captureLog() }));
      expect(logged()).toContainEqual(
        expect.objectContaining({
          level: "error",
          code: "provider_not_configured",
          reason: "RESEND_API_KEY",
        }),
      );

      const body = await seal(verifyEmail());
      const post = (signature?: string) =>
        app.request("/jobs/email", {
          method: "POST",
          body,
          headers: signature === undefined ? {} : { "upstash-signature": signature },
        });
      expect((await post()).status).toBe(401); // the signature is still checked first
      expect((await post(await sign(body, `${appUrl}/jobs/email`))).status).toBe(500);
      expect(capture.outbox.emails()).toHaveLength(0);
    } finally {
      process.env.RESEND_API_KEY = saved;
    }
  });
});

describe("notify-email accepts only deliveries QStash signed for its configured URL", () => {
  const emailUrl = () => `${appUrl}/jobs/email`;

  it("sends a correctly signed delivery (current key, and the next key during rotation)", async () => {
    const current = await seal(verifyEmail());
    expect(await deliver("/jobs/email", current, await sign(current, emailUrl()))).toMatchObject({
      status: 200,
      body: { status: "sent" },
    });
    const next = await seal(verifyEmail());
    expect(await deliver("/jobs/email", next, await sign(next, emailUrl(), { key: NEXT_KEY }))).toMatchObject(
      {
        status: 200,
        body: { status: "sent" },
      },
    );
    expect(capture.outbox.emails()).toHaveLength(2);
  });

  const rejected: [string, (body: string) => Promise<{ body: string; signature: string | undefined }>][] = [
    [
      "a tampered body",
      async (body) => {
        const wire = JSON.parse(body) as { sealed: string };
        const last = wire.sealed.at(-1) === "A" ? "B" : "A";
        return {
          body: body.replace(wire.sealed, wire.sealed.slice(0, -1) + last),
          signature: await sign(body, emailUrl()),
        };
      },
    ],
    [
      "a body re-serialised with different whitespace",
      async (body) => ({
        body: JSON.stringify(JSON.parse(body), null, 2),
        signature: await sign(body, emailUrl()),
      }),
    ],
    [
      "a wrong signing key",
      async (body) => ({ body, signature: await sign(body, emailUrl(), { key: "sig_not_ours" }) }),
    ],
    [
      "an expired signature",
      async (body) => ({
        body,
        signature: await sign(body, emailUrl(), { iatSeconds: Math.floor(Date.now() / 1000) - 600 }),
      }),
    ],
    ["a missing signature", async (body) => ({ body, signature: undefined })],
    [
      "a signature for the SMS function",
      async (body) => ({ body, signature: await sign(body, `${appUrl}/jobs/sms`) }),
    ],
    ["a malformed signature", async (body) => ({ body, signature: "not.a.jwt" })],
  ];

  it.each(rejected)("rejects %s with 401 and sends nothing", async (_, tamper) => {
    const { body, signature } = await tamper(await seal(verifyEmail()));
    const response = await deliver("/jobs/email", body, signature);
    expect(response.status).toBe(401);
    expect(response.type).toBe("application/problem+json");
    expect(response.body).toMatchObject({ status: 401, code: "invalid_signature" });
    expect(capture.outbox.emails()).toHaveLength(0);
  });

  it("verifies against APP_URL, not the Host the request names", async () => {
    const body = await seal(verifyEmail());
    const host = "evil.example";
    const signature = await sign(body, `http://${host}/jobs/email`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${appUrl}/jobs/email`,
        {
          method: "POST",
          headers: { host, "content-type": "application/json", "upstash-signature": signature },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    expect(status).toBe(401);
    expect(capture.outbox.emails()).toHaveLength(0);
  });
});

describe("notify-sms", () => {
  it("texts a published OTP to the Twilio capture exactly once", async () => {
    const message = otpSms();
    const id = `otp:User1:${unique()}`;
    await notifier.notify(message, id);
    await emulator.drain();
    const texts = capture.outbox.sms();
    expect(texts).toHaveLength(1);
    expect(texts[0]).toMatchObject({
      to: message.to,
      from: FROM_PHONE,
      body: renderSms(message, { appName: APP_NAME }),
    });
    expect(texts[0]?.body).toBe(
      `Your ${APP_NAME} verification code is ${message.code}. It expires in 5 minutes.`,
    );
    expect(emulated(id).map((m) => [m.state, m.attempts])).toEqual([["delivered", 1]]);
  });

  it("texts once when the same delivery arrives twice at the same time (Twilio has no idempotency key)", async () => {
    const body = await seal(otpSms());
    const url = `${appUrl}/jobs/sms`;
    const answers = await Promise.all([
      deliver("/jobs/sms", body, await sign(body, url)),
      deliver("/jobs/sms", body, await sign(body, url)),
    ]);
    expect(capture.outbox.sms()).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200 && a.body.status === "sent")).toHaveLength(1);
    for (const a of answers) expect([200, 503]).toContain(a.status);
    const again = await deliver("/jobs/sms", body, await sign(body, url));
    expect(again).toMatchObject({ status: 200, body: { status: "duplicate" } });
    expect(capture.outbox.sms()).toHaveLength(1);
  });

  it("discards an email notification delivered to the SMS function", async () => {
    const body = await seal(verifyEmail());
    const answer = await deliver("/jobs/sms", body, await sign(body, `${appUrl}/jobs/sms`));
    expect(answer).toMatchObject({ status: 200, body: { status: "discarded", code: "unexpected_type" } });
    expect(capture.outbox.sms()).toHaveLength(0);
    expect(capture.outbox.emails()).toHaveLength(0);
  });

  it("rejects an unsigned SMS delivery with 401 and texts nothing", async () => {
    const response = await deliver("/jobs/sms", await seal(otpSms()), undefined);
    expect(response).toMatchObject({ status: 401, body: { code: "invalid_signature" } });
    expect(capture.outbox.sms()).toHaveLength(0);
  });
});

describe("no personal data or secret in clear outside the sealed body", () => {
  it("QStash's stored messages and every log line hold no recipient, name, link token or code", async () => {
    await notifier.notify(verifyEmail(), `verify:User1:${unique()}`);
    await notifier.notify(otpSms(), `otp:User1:${unique()}`);
    await emulator.drain();
    expect(capture.outbox.emails()).toHaveLength(1);
    expect(capture.outbox.sms()).toHaveLength(1);

    const queueSide = [
      ...emulator.messages().map((m) => JSON.stringify(m)),
      ...emulator.deadLetters().map((d) => JSON.stringify(d)),
      ...emulatorLines,
    ];
    // Not vacuous: the scan covers every message of this file and the functions' own log lines.
    expect(emulator.messages().length).toBeGreaterThan(8);
    expect(logged().filter((l) => l.event === "delivery_sent").length).toBeGreaterThan(5);
    expect(secrets.length).toBeGreaterThan(30);
    for (const text of [...queueSide, ...logLines]) {
      for (const secret of secrets)
        expect(text.includes(secret), `"${secret}" in ${text.slice(0, 120)}`).toBe(false);
    }
  });
});
