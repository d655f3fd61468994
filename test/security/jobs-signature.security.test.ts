/**
 * Security: a job runs only for QStash (DESIGN.md §7, issue #15 "Done when"). An unsigned, wrongly
 * signed, expired, tampered or other-URL request to `POST /jobs/<name>` is refused with 401
 * `invalid_signature` and does nothing: no run starts (no progress in Redis), no account is
 * purged, no audit event of the job is written. The control case, signed like QStash signs, runs.
 */
import { createHash, randomBytes } from "node:crypto";
import { base64url, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobKeys } from "../../shared/accounts/keys";
import { newUser } from "../fixtures/accounts";
import { manualClock } from "../fixtures/context";
import { send } from "../helpers/api-client";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { startTestServer, type TestServer } from "../helpers/local-server";

const clock = manualClock();
let server: TestServer;
let staleIndex: string;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMITS: GENEROUS_RATE_LIMITS }, { nowMs: clock.nowMs });
  const user = newUser();
  const res = await send(server, "/User1/create", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(user),
  });
  expect(res.status).toBe(201);
  const { blindIndex } = await server.context.accountDeps("blindIndex");
  staleIndex = blindIndex("User1", user.email);
  clock.advanceSeconds(73 * 3600); // past the TTL: a purge run would delete it
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

/** A QStash-style signature (protocols.md §2) over `body` for `url`, with `key` and `iat` (seconds). */
function sign(body: string, url: string, key: string, iat = Math.floor(Date.now() / 1000)) {
  const digest = createHash("sha256").update(body).digest();
  return new SignJWT({ body: base64url.encode(digest) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer("Upstash")
    .setSubject(url)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + 300)
    .setJti(`jwt_${randomBytes(8).toString("hex")}`)
    .sign(new TextEncoder().encode(key));
}

const currentKey = () => process.env.QSTASH_CURRENT_SIGNING_KEY as string;
const urlOf = (job: string) => `${server.context.config.appUrl}/jobs/${job}`;

async function deliver(job: string, body: string, signature?: string) {
  return send(server, `/jobs/${job}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(signature ? { "upstash-signature": signature } : {}) },
    body,
  });
}

async function nothingHappened(run: string) {
  expect(await server.context.kv().get(jobKeys.progress("purge-unverified", run))).toBeNull();
  const store = await server.context.store();
  expect(await store.findByEmailIndex("User1", staleIndex)).not.toBeNull();
}

describe("POST /jobs/<name> without a valid Upstash-Signature", () => {
  const cases: [string, (body: string) => Promise<string | undefined>][] = [
    ["no signature", async () => undefined],
    [
      "a signature made with another key",
      (body) => sign(body, urlOf("purge-unverified"), `sig_${randomBytes(16).toString("hex")}`),
    ],
    ["a signature for another job's URL", (body) => sign(body, urlOf("bloom-rebuild"), currentKey())],
    ["a signature for another body", () => sign('{"run":"other"}', urlOf("purge-unverified"), currentKey())],
    [
      "an expired signature",
      (body) => sign(body, urlOf("purge-unverified"), currentKey(), Math.floor(Date.now() / 1000) - 600),
    ],
    ["a signature that is not a JWT", async () => "not-a-jwt"],
  ];
  for (const [what, signature] of cases) {
    it(`is refused with 401 invalid_signature and does nothing: ${what}`, async () => {
      const run = `run_${randomBytes(8).toString("hex")}`;
      const body = JSON.stringify({ run });
      const res = await deliver("purge-unverified", body, await signature(body));
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(((await res.json()) as { code: string }).code).toBe("invalid_signature");
      await nothingHappened(run);
    });
  }

  it("runs when signed as QStash signs (the control case: the refusals above are the signature's doing)", async () => {
    const run = `run_${randomBytes(8).toString("hex")}`;
    const body = JSON.stringify({ run });
    const res = await deliver(
      "purge-unverified",
      body,
      await sign(body, urlOf("purge-unverified"), currentKey()),
    );
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe("done");
    const store = await server.context.store();
    expect(await store.findByEmailIndex("User1", staleIndex)).toBeNull();
  });

  it("refuses a signed body that is not a job message with 422, doing nothing", async () => {
    const body = JSON.stringify({ run: "run_x", role: "admin" });
    const res = await deliver(
      "purge-unverified",
      body,
      await sign(body, urlOf("purge-unverified"), currentKey()),
    );
    expect(res.status).toBe(422);
    expect(((await res.json()) as { code: string }).code).toBe("validation_failed");
    const unknownKind = JSON.stringify({ run: "run_y", kind: "Admin" });
    const refused = await deliver(
      "purge-unverified",
      unknownKind,
      await sign(unknownKind, urlOf("purge-unverified"), currentKey()),
    );
    expect(refused.status).toBe(422);
    expect(await server.context.kv().get(jobKeys.progress("purge-unverified", "run_y"))).toBeNull();
  });
});
