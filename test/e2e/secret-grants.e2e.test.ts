import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildManifest } from "../../infra/functions";
import { readDevState } from "../../infra/local/dev-state";
import type { SecretName } from "../../shared/config/secrets";
import { totpCode } from "../../shared/crypto/totp";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { targetOfDevState, triggerSchedule } from "../helpers/jobs";
import { apiClient, startTestServer, type TestServer } from "../helpers/local-server";

/**
 * Least privilege for secrets (issue #12, DESIGN.md §2), derived from what the code reads: the local
 * runtime serves each function with a configuration holding only the secrets its spec grants
 * (`context.withSecrets(spec.secrets)`), and records every read of a granted secret's field. One
 * pass through every route of every function — the whole account lifecycle, both notification
 * deliveries through the QStash emulator, the operator endpoints, docs, JWKS and the `$default`
 * route — must leave each function having read exactly the secrets it is granted: one it lacks
 * would have failed its request (a `SecretWithheldError`, which this pass would see as a 500), and
 * one it never read is a grant to remove.
 */
const OPS_TOKEN = randomBytes(32).toString("base64url");
const PASSWORD = "Tr0ub4dor&3-horse-Battery";
const NEW_PASSWORD = "c0rrect-Horse-battery-Staple";
const reads = new Map<string, Set<SecretName>>();
let server: TestServer;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  server = await startTestServer(
    // Job parts of one step each, so every job hands over to a continuation (published to QStash).
    { RATE_LIMITS: GENEROUS_RATE_LIMITS, OPS_TOKEN, JOB_BATCH_SIZE: "1", JOB_TIME_BUDGET_MS: "0" },
    {
      onSecretRead: (fn, secret) => {
        const set = reads.get(fn) ?? new Set<SecretName>();
        set.add(secret);
        reads.set(fn, set);
      },
    },
  );
  api = apiClient(server.url);
});
afterAll(async () => {
  await server?.stop();
});

const tokenOf = (link: string) => new URL(link).searchParams.get("token") as string;
const codeOf = (body: string) => /\b(\d{6})\b/.exec(body)?.[1] as string;

/** Every request of the pass must be answered by its function, never by a 500. */
function ok(res: { status: number; text: string }, status: number) {
  expect(res.status, res.text).toBe(status);
}

async function everyRoute(kind: string) {
  const email = `grants.${kind.toLowerCase()}.${Date.now().toString(36)}@example.com`;
  const user = { first_name: "Ada", last_name: "Grant", email, phone: "+14155552671", country_code: "US" };
  ok(await api.request("POST", `/${kind}/create`, { json: { ...user, password: PASSWORD } }), 201);
  const welcome = await server.waitForEmail(email, (e) => e.links.some((l) => l.includes("/verify?token=")));
  const verifyLink = welcome.links.find((l) => l.includes("/verify?token=")) as string;
  ok(await api.request("GET", `/${kind}/verify?token=${tokenOf(verifyLink)}`), 200); // the page
  ok(await api.request("POST", `/${kind}/verify`, { json: { token: tokenOf(verifyLink) } }), 200);

  const loginAs = (password: string) =>
    api.request("POST", `/${kind}/login`, { form: { username: email, password } });
  let session = await loginAs(PASSWORD);
  ok(session, 200);
  let access = session.json.access_token as string;
  ok(await api.request("GET", `/${kind}/`, { token: access }), 200);
  ok(await api.request("PUT", `/${kind}/update`, { token: access, json: { first_name: "Ada L." } }), 200);
  ok(await api.request("POST", `/${kind}/otp_phone`, { token: access }), 202);
  const sms = await server.waitForSms(user.phone);
  ok(
    await api.request("POST", `/${kind}/verify_otp_phone`, {
      token: access,
      json: { otp: codeOf(sms.body) },
    }),
    200,
  );
  const refreshed = await api.request("POST", `/${kind}/token`, {
    form: { grant_type: "refresh_token", refresh_token: session.json.refresh_token as string },
  });
  ok(refreshed, 200);
  access = refreshed.json.access_token as string;
  ok(
    await api.request("POST", `/${kind}/change_password`, {
      token: access,
      json: { current_password: PASSWORD, new_password: NEW_PASSWORD },
    }),
    200,
  );

  ok(await api.request("POST", `/${kind}/forget_password`, { json: { email } }), 200);
  const resetMail = await server.waitForEmail(email, (e) =>
    e.links.some((l) => l.includes("/reset_password_form?token=")),
  );
  const resetLink = resetMail.links.find((l) => l.includes("/reset_password_form?token=")) as string;
  ok(await api.request("GET", `/${kind}/reset_password_form?token=${tokenOf(resetLink)}`), 200);
  ok(
    await api.request("POST", `/${kind}/reset_password`, {
      json: { token: tokenOf(resetLink), password: PASSWORD },
    }),
    200,
  );

  await secondFactor(kind, loginAs);

  session = await loginAs(PASSWORD);
  ok(session, 200);
  ok(await api.request("POST", `/${kind}/logout`, { token: session.json.access_token as string }), 200);
  session = await loginAs(PASSWORD);
  ok(await api.request("POST", `/${kind}/logout_all`, { token: session.json.access_token as string }), 200);
  session = await loginAs(PASSWORD);
  ok(
    await api.request("DELETE", `/${kind}/delete`, {
      token: session.json.access_token as string,
      json: { password: PASSWORD },
    }),
    200,
  );
  await server.waitForEmail(email, (e) => /deleted/i.test(e.subject));
}

/** Every second-factor route, leaving the account without a factor (the phone is verified by then). */
async function secondFactor(kind: string, loginAs: (password: string) => ReturnType<typeof api.request>) {
  let access = (await loginAs(PASSWORD)).json.access_token as string;
  ok(await api.request("GET", `/${kind}/mfa`, { token: access }), 200);
  const setup = await api.request("POST", `/${kind}/mfa/totp/setup`, { token: access });
  ok(setup, 200);
  const enabled = await api.request("POST", `/${kind}/mfa/totp/enable`, {
    token: access,
    json: { code: totpCode(setup.json.secret as string, Date.now()), password: PASSWORD },
  });
  ok(enabled, 200);
  let codes = enabled.json.recovery_codes as string[];
  const secondStep = async () => {
    const pending = await loginAs(PASSWORD);
    ok(pending, 403);
    const verified = await api.request("POST", `/${kind}/mfa/verify`, {
      json: { mfa_token: pending.json.mfa_token, method: "recovery_code", code: codes.shift() },
    });
    ok(verified, 200);
    return { mfaToken: pending.json.mfa_token as string, access: verified.json.access_token as string };
  };
  access = (await secondStep()).access;
  ok(
    await api.request("POST", `/${kind}/mfa/sms/enable`, { token: access, json: { password: PASSWORD } }),
    200,
  );
  const pending = await loginAs(PASSWORD);
  ok(pending, 403);
  // The phone code sent a moment ago still holds the shared cool-down: refused by the SMS guard.
  ok(
    await api.request("POST", `/${kind}/mfa/challenge`, {
      json: { mfa_token: pending.json.mfa_token, method: "sms" },
    }),
    429,
  );
  access = (await secondStep()).access;
  const fresh = await api.request("POST", `/${kind}/mfa/recovery_codes`, {
    token: access,
    json: { password: PASSWORD },
  });
  ok(fresh, 200);
  codes = fresh.json.recovery_codes as string[];
  for (const method of ["totp", "sms"])
    ok(
      await api.request("POST", `/${kind}/mfa/disable`, {
        token: access,
        json: { method, password: PASSWORD, code: codes.shift() },
      }),
      200,
    );
}

describe("each function is granted exactly the secrets its code reads", () => {
  it("one pass through every route reads exactly each spec's secrets", async () => {
    await everyRoute("User1");
    ok(await api.request("GET", "/health"), 200);
    ok(await api.request("GET", "/health/detailed", { token: OPS_TOKEN }), 200);
    ok(await api.request("GET", "/metrics", { token: OPS_TOKEN }), 200);
    ok(await api.request("GET", "/openapi.json"), 200);
    ok(await api.request("GET", "/docs"), 200);
    ok(await api.request("GET", "/.well-known/jwks.json"), 200);
    ok(await api.request("GET", "/no/such/route"), 404);
    // Every scheduled job, fired through the emulator as its schedule would.
    const state = readDevState(server.dataDir);
    if (!state) throw new Error("the server left no dev-runtime.json");
    for (const job of ["bloom-rebuild", "purge-unverified", "rotate-keys", "audit-retention"])
      expect((await triggerSchedule(targetOfDevState(state), job)).state).toBe("done");
    // A delivery without a valid signature is refused and audited (the audit store is read).
    for (const path of ["/jobs/email", "/jobs/sms", "/jobs/rotate-keys"])
      ok(await api.request("POST", path, { json: {}, headers: { "upstash-signature": "forged" } }), 401);

    const manifest = await buildManifest(server.context.config.userKinds);
    const derived = Object.fromEntries(
      manifest.map((fn) => [fn.name, [...(reads.get(fn.name) ?? [])].sort()]),
    );
    const granted = Object.fromEntries(manifest.map((fn) => [fn.name, [...fn.secrets].sort()]));
    expect(derived).toEqual(granted);
  });
});
