import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Client, QstashError } from "@upstash/qstash";
import { base64url, SignJWT } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RunningQstashEmulator, startQstashEmulator } from "../../infra/local/qstash-emulator";
import { createQstashQueue } from "../../shared/adapters/qstash-queue";
import { createSignatureVerifier } from "../../shared/adapters/qstash-receiver";

const TOKEN = "qstash_test_token";
const CURRENT_KEY = "sig_test_current_key";
const NEXT_KEY = "sig_test_next_key";
const verifier = createSignatureVerifier({ currentSigningKey: CURRENT_KEY, nextSigningKey: NEXT_KEY });

interface Received {
  path: string;
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Full URL as the destination knows it: what a handler passes to `verify`. */
  url: string;
  verified: boolean;
}

/** A real HTTP destination that verifies every delivery with the real Receiver and answers scripted statuses. */
function startDestination(): Promise<{
  base: string;
  received: Received[];
  script: Map<string, number[]>;
  close(): Promise<void>;
}> {
  const received: Received[] = [];
  const script = new Map<string, number[]>();
  let base = "";
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const path = req.url ?? "/";
        const url = `${base}${path}`;
        const signature = req.headers["upstash-signature"];
        const verified = await verifier.verify({
          signature: typeof signature === "string" ? signature : undefined,
          rawBody: body,
          url,
        });
        received.push({ path, method: req.method ?? "", headers: req.headers, body, url, verified });
        const pathname = path.split("?")[0] ?? path;
        const status = script.get(pathname)?.shift() ?? (verified ? 200 : 401);
        res.writeHead(status).end();
      })();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve({
        base,
        received,
        script,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

async function sha256Base64url(text: string): Promise<string> {
  return base64url.encode(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))),
  );
}

/** Crafts a QStash-style signature with jose, independently of the emulator's signer. */
async function craftSignature(opts: {
  key: string;
  url: string;
  body: string;
  iatSeconds: number;
}): Promise<string> {
  return new SignJWT({ body: await sha256Base64url(opts.body) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("Upstash")
    .setSubject(opts.url)
    .setIssuedAt(opts.iatSeconds)
    .setNotBefore(opts.iatSeconds)
    .setExpirationTime(opts.iatSeconds + 300)
    .setJti("jwt_crafted")
    .sign(new TextEncoder().encode(opts.key));
}

let destination: Awaited<ReturnType<typeof startDestination>>;
let emulator: RunningQstashEmulator;
let client: Client;

beforeAll(async () => {
  destination = await startDestination();
  emulator = await startQstashEmulator({
    token: TOKEN,
    currentSigningKey: CURRENT_KEY,
    nextSigningKey: NEXT_KEY,
    retryBaseDelayMs: 5,
  });
  client = new Client({ baseUrl: emulator.url, token: TOKEN, devMode: false });
});

afterAll(async () => {
  await emulator?.close();
  await destination?.close();
});

beforeEach(() => {
  destination.received.length = 0;
  destination.script.clear();
});

const forPath = (path: string) => destination.received.filter((r) => r.path === path);

describe("QStash emulator: signed delivery through the real Client and Receiver", () => {
  it("delivers a queue publish asynchronously with a signature the real Receiver accepts", async () => {
    const queue = createQstashQueue({
      baseUrl: emulator.url,
      token: TOKEN,
      destinations: { email: `${destination.base}/jobs/email`, sms: `${destination.base}/jobs/sms` },
    });
    const body = JSON.stringify({ kind: "email.verify", ciphertext: "v1.abc" });
    const { messageId } = await queue.publish({ topic: "email", deduplicationId: "verify:u1:1", body });
    await emulator.drain();

    const [delivery, ...others] = forPath("/jobs/email");
    expect(others).toHaveLength(0);
    expect(delivery?.verified).toBe(true);
    expect(delivery?.method).toBe("POST");
    expect(delivery?.body).toBe(body);
    expect(delivery?.headers["content-type"]).toBe("application/json");
    expect(delivery?.headers["upstash-message-id"]).toBe(messageId);
    expect(delivery?.headers["upstash-retried"]).toBe("0");
    expect(delivery?.headers["user-agent"]).toBe("Upstash-QStash");
    const seen = emulator.messages().find((m) => m.messageId === messageId);
    expect(seen?.state).toBe("delivered");
    expect(seen?.headers["upstash-deduplication-id"]).toBe("verify:u1:1");
  });

  it("keeps the destination's query string and forwards Upstash-Forward-* headers without the prefix", async () => {
    const url = `${destination.base}/jobs/query?tenant=a&x=1`;
    await client.publish({ url, body: "plain", headers: { "X-Request-Id": "req-42" } });
    await emulator.drain();
    const [delivery] = forPath("/jobs/query?tenant=a&x=1");
    expect(delivery?.verified).toBe(true);
    expect(delivery?.headers["x-request-id"]).toBe("req-42");
    expect(delivery?.headers["upstash-forward-x-request-id"]).toBeUndefined();
  });

  it("delivers every message of a batch, each signed for its own destination", async () => {
    const answers = await client.batch([
      { url: `${destination.base}/jobs/batch-a`, body: "a" },
      { url: `${destination.base}/jobs/batch-b`, body: "b" },
    ]);
    expect(answers).toHaveLength(2);
    await emulator.drain();
    expect(forPath("/jobs/batch-a").map((r) => [r.body, r.verified])).toEqual([["a", true]]);
    expect(forPath("/jobs/batch-b").map((r) => [r.body, r.verified])).toEqual([["b", true]]);
  });
});

describe("QStash signature verification rejects what QStash did not sign", () => {
  let genuine: Received;

  beforeAll(async () => {
    destination.received.length = 0;
    await client.publishJSON({ url: `${destination.base}/jobs/verify`, body: { user: "u1", code: "x" } });
    await emulator.drain();
    const first = forPath("/jobs/verify")[0];
    if (!first) throw new Error("no delivery captured");
    genuine = first;
  });

  const signatureOf = (r: Received) => r.headers["upstash-signature"] as string;

  it("accepts the genuine delivery (control)", async () => {
    expect(genuine.verified).toBe(true);
    await expect(
      verifier.verify({ signature: signatureOf(genuine), rawBody: genuine.body, url: genuine.url }),
    ).resolves.toBe(true);
  });

  it("rejects a tampered body", async () => {
    const tampered = genuine.body.replace('"u1"', '"u2"');
    expect(tampered).not.toBe(genuine.body);
    await expect(
      verifier.verify({ signature: signatureOf(genuine), rawBody: tampered, url: genuine.url }),
    ).resolves.toBe(false);
  });

  it("rejects the same JSON re-serialised with different whitespace", async () => {
    const reserialised = JSON.stringify(JSON.parse(genuine.body), null, 2);
    expect(reserialised).not.toBe(genuine.body);
    await expect(
      verifier.verify({ signature: signatureOf(genuine), rawBody: reserialised, url: genuine.url }),
    ).resolves.toBe(false);
  });

  it("rejects a signature when the verifier holds other signing keys", async () => {
    const other = createSignatureVerifier({
      currentSigningKey: "sig_other_current",
      nextSigningKey: "sig_other_next",
    });
    await expect(
      other.verify({ signature: signatureOf(genuine), rawBody: genuine.body, url: genuine.url }),
    ).resolves.toBe(false);
  });

  it("rejects a signature made for another URL", async () => {
    await expect(
      verifier.verify({
        signature: signatureOf(genuine),
        rawBody: genuine.body,
        url: `${destination.base}/jobs/sms`,
      }),
    ).resolves.toBe(false);
  });

  it("rejects an expired signature but accepts a fresh one crafted the same way", async () => {
    const now = Math.floor(Date.now() / 1000);
    const fresh = await craftSignature({
      key: CURRENT_KEY,
      url: genuine.url,
      body: genuine.body,
      iatSeconds: now,
    });
    const expired = await craftSignature({
      key: CURRENT_KEY,
      url: genuine.url,
      body: genuine.body,
      iatSeconds: now - 600,
    });
    await expect(
      verifier.verify({ signature: fresh, rawBody: genuine.body, url: genuine.url }),
    ).resolves.toBe(true);
    await expect(
      verifier.verify({ signature: expired, rawBody: genuine.body, url: genuine.url }),
    ).resolves.toBe(false);
  });

  it("accepts a signature made with the next signing key (rotation)", async () => {
    const now = Math.floor(Date.now() / 1000);
    const rotated = await craftSignature({
      key: NEXT_KEY,
      url: genuine.url,
      body: genuine.body,
      iatSeconds: now,
    });
    await expect(
      verifier.verify({ signature: rotated, rawBody: genuine.body, url: genuine.url }),
    ).resolves.toBe(true);
  });

  it("returns false instead of throwing for a missing or malformed signature", async () => {
    await expect(
      verifier.verify({ signature: undefined, rawBody: genuine.body, url: genuine.url }),
    ).resolves.toBe(false);
    await expect(verifier.verify({ signature: "", rawBody: genuine.body, url: genuine.url })).resolves.toBe(
      false,
    );
    await expect(
      verifier.verify({ signature: "not.a.jwt", rawBody: genuine.body, url: genuine.url }),
    ).resolves.toBe(false);
    // Correctly signed but without a `body` claim: the Receiver throws a TypeError internally.
    const noBodyClaim = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("Upstash")
      .setSubject(genuine.url)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(CURRENT_KEY));
    await expect(
      verifier.verify({ signature: noBodyClaim, rawBody: genuine.body, url: genuine.url }),
    ).resolves.toBe(false);
  });
});

describe("QStash emulator: retries, deduplication and dead letters", () => {
  it("retries a destination that failed once with 500, then delivers exactly once", async () => {
    destination.script.set("/jobs/flaky", [500]);
    const { messageId } = await client.publish({ url: `${destination.base}/jobs/flaky`, body: "retry-me" });
    await emulator.drain();
    const attempts = forPath("/jobs/flaky");
    expect(attempts.map((a) => a.headers["upstash-retried"])).toEqual(["0", "1"]);
    expect(attempts.every((a) => a.headers["upstash-message-id"] === messageId && a.verified)).toBe(true);
    const seen = emulator.messages().find((m) => m.messageId === messageId);
    expect(seen).toMatchObject({ state: "delivered", attempts: 2, lastStatus: 200 });
  });

  it("delivers a duplicate publish (same deduplication id) once and answers with the first message id", async () => {
    const url = `${destination.base}/jobs/dedup`;
    const first = await client.publish({ url, body: "once", deduplicationId: "dedup-1" });
    const second = await client.publish({ url, body: "once", deduplicationId: "dedup-1" });
    expect(second.messageId).toBe(first.messageId);
    expect(second.deduplicated).toBe(true);
    expect(first.deduplicated).toBeUndefined();
    await emulator.drain();
    expect(forPath("/jobs/dedup")).toHaveLength(1);
  });

  it("deduplicates identical content when content-based deduplication is asked for", async () => {
    const url = `${destination.base}/jobs/content-dedup`;
    const a = await client.publish({ url, body: "same", contentBasedDeduplication: true });
    const b = await client.publish({ url, body: "same", contentBasedDeduplication: true });
    const c = await client.publish({ url, body: "different", contentBasedDeduplication: true });
    expect(b.messageId).toBe(a.messageId);
    expect(c.messageId).not.toBe(a.messageId);
    await emulator.drain();
    expect(forPath("/jobs/content-dedup").map((r) => r.body)).toEqual(["same", "different"]);
  });

  it("dead-letters a message once its retries are exhausted", async () => {
    destination.script.set("/jobs/down", [503, 503, 503]);
    const { messageId } = await client.publish({
      url: `${destination.base}/jobs/down`,
      body: "doomed",
      retries: 2,
    });
    await emulator.drain();
    expect(forPath("/jobs/down")).toHaveLength(3);
    const dead = emulator.deadLetters().find((d) => d.messageId === messageId);
    expect(dead).toMatchObject({ attempts: 3, lastStatus: 503, body: "doomed" });
    expect(emulator.messages().find((m) => m.messageId === messageId)?.state).toBe("dead");
  });

  it("holds a delayed message until its delay has passed, then delivers it", async () => {
    const { messageId } = await client.publish({
      url: `${destination.base}/jobs/later`,
      body: "later",
      delay: 1,
    });
    const queued = emulator.messages().find((m) => m.messageId === messageId);
    expect(queued).toMatchObject({ state: "pending", attempts: 0 });
    expect(queued?.headers["upstash-delay"]).toBe("1s");
    expect(forPath("/jobs/later")).toHaveLength(0);
    await emulator.drain();
    expect(forPath("/jobs/later").map((r) => r.verified)).toEqual([true]);
  });

  it("rejects a wrong token with QstashError 401", async () => {
    const intruder = new Client({ baseUrl: emulator.url, token: "wrong", devMode: false, retry: false });
    const error = await intruder
      .publish({ url: `${destination.base}/jobs/email`, body: "x" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QstashError);
    expect((error as QstashError).status).toBe(401);
    expect(forPath("/jobs/email")).toHaveLength(0);
  });

  it("rejects a malformed delay with QstashError 400", async () => {
    const error = await client
      .publish({ url: `${destination.base}/jobs/email`, body: "x", delay: "soon" as `${bigint}s` })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QstashError);
    expect((error as QstashError).status).toBe(400);
  });
});

describe("QStash emulator: schedules", () => {
  it("lists a schedule created with the Client, fires it with Upstash-Schedule-Id, pauses and deletes it", async () => {
    const url = `${destination.base}/jobs/purge`;
    const created = await client.schedules.create({
      destination: url,
      cron: "0 3 * * *",
      body: JSON.stringify({ job: "purge" }),
      scheduleId: "purge-unverified",
    });
    expect(created.scheduleId).toBe("purge-unverified");
    const listed = await client.schedules.list();
    expect(listed.map((s) => [s.scheduleId, s.cron, s.destination, s.isPaused])).toContainEqual([
      "purge-unverified",
      "0 3 * * *",
      url,
      false,
    ]);

    const messageId = emulator.triggerSchedule("purge-unverified");
    await emulator.drain();
    const [delivery] = forPath("/jobs/purge");
    expect(delivery?.verified).toBe(true);
    expect(delivery?.headers["upstash-schedule-id"]).toBe("purge-unverified");
    expect(delivery?.headers["upstash-message-id"]).toBe(messageId);
    expect(delivery?.body).toBe('{"job":"purge"}');

    await client.schedules.pause({ schedule: "purge-unverified" });
    expect((await client.schedules.get("purge-unverified")).isPaused).toBe(true);
    await client.schedules.resume({ schedule: "purge-unverified" });
    expect((await client.schedules.get("purge-unverified")).isPaused).toBe(false);

    await client.schedules.delete("purge-unverified");
    expect((await client.schedules.list()).map((s) => s.scheduleId)).not.toContain("purge-unverified");
    const missing = await client.schedules.get("purge-unverified").catch((e: unknown) => e);
    expect((missing as QstashError).status).toBe(404);
  });

  it("rejects a schedule with an invalid cron expression", async () => {
    const error = await client.schedules
      .create({ destination: `${destination.base}/jobs/purge`, cron: "every day" })
      .catch((e: unknown) => e);
    expect((error as QstashError).status).toBe(400);
  });
});
