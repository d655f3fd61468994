import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { totpCode } from "../../shared/crypto/totp";
import { confirmVerificationLink } from "../fixtures/accounts";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { apiClient, startTestServer, type TestServer } from "../helpers/local-server";

/**
 * Two-factor login end to end over real HTTP against the local runtime (issue #16 "Done when"):
 * every function behind one port, SQLite, redis-server behind the Upstash bridge, the QStash
 * emulator delivering to the email and SMS functions, Resend/Twilio capture read from the outbox.
 * TOTP codes are computed from the secret the API returned, at real time (the server's clock);
 * what needs a moved clock (the 5-minute token expiry) is in `test/security/mfa.security.test.ts`.
 */
let server: TestServer;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMITS: GENEROUS_RATE_LIMITS, OTP_RESEND_COOLDOWN_SECONDS: "1" });
  api = apiClient(server.url);
});
afterAll(async () => {
  await server?.stop();
});

const PASSWORD = "Tr0ub4dor&3-horse-Battery";
let counter = 0;
const STEP_MS = 30_000;

async function verifiedUser(kind = "User1") {
  counter += 1;
  const user = {
    first_name: "Katherine",
    last_name: "Johnson",
    email: `katherine.${Date.now().toString(36)}${counter}@example.com`,
    phone: `+1646555${2000 + counter}`,
    country_code: "US",
    password: PASSWORD,
  };
  expect((await api.request("POST", `/${kind}/create`, { json: user })).status).toBe(201);
  const mail = await server.waitForEmail(user.email, (e) =>
    e.links.some((l) => l.includes("/verify?token=")),
  );
  expect(
    (await confirmVerificationLink(server, mail.links.find((l) => l.includes("/verify?token=")) as string))
      .status,
  ).toBe(200);
  const login = await api.request("POST", `/${kind}/login`, {
    form: { username: user.email, password: PASSWORD },
  });
  expect(login.status, login.text).toBe(200);
  return { user, access: login.json.access_token as string };
}

const login = (kind: string, email: string, password = PASSWORD) =>
  api.request("POST", `/${kind}/login`, { form: { username: email, password } });
const verify = (kind: string, mfaToken: string, method: string, code: string) =>
  api.request("POST", `/${kind}/mfa/verify`, { json: { mfa_token: mfaToken, method, code } });
const amrOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split(".")[1] as string, "base64url").toString("utf8")).amr as string[];

describe("two-factor login through the local server", () => {
  it("enrols TOTP, needs the next step's code at login, refuses it twice, and spends a recovery code once", async () => {
    const { user, access } = await verifiedUser();
    const setup = await api.request("POST", "/User1/mfa/totp/setup", { token: access });
    expect(setup.status, setup.text).toBe(200);
    const secret = setup.json.secret as string;
    expect(setup.json.otpauth_uri).toMatch(/^otpauth:\/\/totp\//);
    const enabled = await api.request("POST", "/User1/mfa/totp/enable", {
      token: access,
      json: { code: totpCode(secret, Date.now()), password: PASSWORD },
    });
    expect(enabled.status, enabled.text).toBe(200);
    const recoveryCodes = enabled.json.recovery_codes as string[];
    expect(recoveryCodes).toHaveLength(10);
    await server.waitForEmail(user.email, (e) => e.subject.includes("authenticator app was turned on"));

    const first = await login("User1", user.email);
    expect(first.status).toBe(403);
    expect(first.json.code).toBe("mfa_required");
    expect(first.json.methods).toEqual(["totp", "recovery_code"]);
    const nextStep = totpCode(secret, Date.now() + STEP_MS);
    const ok = await verify("User1", first.json.mfa_token as string, "totp", nextStep);
    expect(ok.status, ok.text).toBe(200);
    expect(amrOf(ok.json.access_token as string)).toContain("otp");
    expect((await api.request("GET", "/User1/", { token: ok.json.access_token as string })).status).toBe(200);

    // The token is single use; the same code on a fresh login is a replay.
    const reuse = await verify("User1", first.json.mfa_token as string, "totp", nextStep);
    expect(reuse.json.code).toBe("invalid_mfa_token");
    const second = await login("User1", user.email);
    const replay = await verify("User1", second.json.mfa_token as string, "totp", nextStep);
    expect(replay.status).toBe(400);
    expect(replay.json.code).toBe("invalid_mfa_code");
    // ...and the token is bound to its kind.
    const otherKind = await verify(
      "User2",
      second.json.mfa_token as string,
      "recovery_code",
      recoveryCodes[0] as string,
    );
    expect(otherKind.json.code).toBe("invalid_mfa_token");

    const recovered = await verify(
      "User1",
      second.json.mfa_token as string,
      "recovery_code",
      recoveryCodes[0] as string,
    );
    expect(recovered.status, recovered.text).toBe(200);
    const third = await login("User1", user.email);
    const spent = await verify(
      "User1",
      third.json.mfa_token as string,
      "recovery_code",
      recoveryCodes[0] as string,
    );
    expect(spent.json.code).toBe("invalid_mfa_code");

    // A wrong password still answers 401 exactly as before, with no hint of the factor.
    const wrong = await login("User1", user.email, "Wrong-password-000");
    expect(wrong.status).toBe(401);
    expect(wrong.json.code).toBe("invalid_credentials");
    expect(wrong.json).not.toHaveProperty("methods");
  });

  it("logs in with an SMS code delivered through the queue to the outbox", async () => {
    const { user, access } = await verifiedUser("User2");
    expect((await api.request("POST", "/User2/otp_phone", { token: access })).status).toBe(202);
    const otp = /\b(\d{6})\b/.exec((await server.waitForSms(user.phone)).body)?.[1] as string;
    expect(
      (await api.request("POST", "/User2/verify_otp_phone", { token: access, json: { otp } })).status,
    ).toBe(200);
    const enabled = await api.request("POST", "/User2/mfa/sms/enable", {
      token: access,
      json: { password: PASSWORD },
    });
    expect(enabled.status, enabled.text).toBe(200);

    const first = await login("User2", user.email);
    expect(first.json.methods).toEqual(["sms", "recovery_code"]);
    const mfaToken = first.json.mfa_token as string;
    await sleep(1100); // the phone verification's 1 s cool-down applies to this send too
    const challenge = await api.request("POST", "/User2/mfa/challenge", {
      json: { mfa_token: mfaToken, method: "sms" },
    });
    expect(challenge.status, challenge.text).toBe(202);
    const sms = await server.waitForSms(user.phone, (s) => !s.body.includes(otp));
    const code = /\b(\d{6})\b/.exec(sms.body)?.[1] as string;
    const ok = await verify("User2", mfaToken, "sms", code);
    expect(ok.status, ok.text).toBe(200);
    expect(amrOf(ok.json.access_token as string)).toEqual(["pwd", "sms", "mfa"]);
  });
});
