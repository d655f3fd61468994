import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisKeys } from "../../shared/accounts/keys";
import { hashOpaqueToken } from "../../shared/crypto/random";
import { startTestApp, type TestApp } from "../fixtures/context";
import {
  claimsOf,
  codeAt,
  enrolTotp,
  MFA_PASSWORD,
  mfaChallenge,
  passwordLogin,
  smsCode,
  verifiedAccount,
  verify,
} from "../fixtures/mfa";
import { apiClient } from "../helpers/api-client";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";

/**
 * Two-factor login (issue #16, DESIGN.md §10), in process: every function's `createApp(ctx)` on one
 * test context (real redis-server behind the Upstash bridge, SQLite file, capturing notifier, a
 * clock the test moves). TOTP codes are computed from the secret the API returned, at the app's
 * clock. Each property is asserted by status and problem `code`.
 */
let app: TestApp;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  app = await startTestApp({
    RATE_LIMITS: GENEROUS_RATE_LIMITS,
    OTP_RESEND_COOLDOWN_SECONDS: "1",
    APP_NAME: "Acme Auth",
  });
  api = apiClient(app);
});
afterAll(async () => {
  await app?.stop();
});

/** A verified account with an authenticator enrolled (its first session is dead: enrolment ends it). */
async function totpAccount(kind = "User1") {
  const account = await verifiedAccount(app, api, kind);
  const totp = await enrolTotp(app, api, kind, account.access);
  return { ...account, ...totp };
}

/** Logs in with password and the current TOTP code; returns the token response. */
async function fullLogin(kind: string, email: string, secret: string) {
  const { mfaToken } = await mfaChallenge(api, kind, email);
  const res = await verify(api, kind, mfaToken, "totp", codeAt(app, secret));
  expect(res.status, res.text).toBe(200);
  app.clock.advanceSeconds(30); // the next login needs the next step's code
  return res.json as { access_token: string; refresh_token: string };
}

describe("TOTP enrolment", () => {
  it("returns an RFC 6238 secret and otpauth URI (issuer APP_NAME, label the email), pending until enabled", async () => {
    const { user, access } = await verifiedAccount(app, api);
    const setup = await api.request("POST", "/User1/mfa/totp/setup", { token: access });
    expect(setup.status, setup.text).toBe(200);
    expect(setup.json.secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(setup.json.otpauth_uri as string);
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.host).toBe("totp");
    expect(decodeURIComponent(uri.pathname)).toBe(`/Acme Auth:${user.email}`);
    expect(uri.searchParams.get("secret")).toBe(setup.json.secret);
    expect(uri.searchParams.get("issuer")).toBe("Acme Auth");
    expect(uri.searchParams.get("algorithm")).toBe("SHA1");
    expect(uri.searchParams.get("digits")).toBe("6");
    expect(uri.searchParams.get("period")).toBe("30");
    // Pending: nothing enrolled yet, the password still logs in alone.
    const status = await api.request("GET", "/User1/mfa", { token: access });
    expect(status.json).toEqual({ methods: [], recovery_codes_remaining: 0, totp_pending: true });
    expect((await passwordLogin(api, "User1", user.email)).status).toBe(200);
  });

  it("enables with a code and the password, shows 10 recovery codes once, mails the owner and ends every session", async () => {
    const { user, access, refresh } = await verifiedAccount(app, api);
    const { recoveryCodes } = await enrolTotp(app, api, "User1", access);
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[0-9a-z]{6}-[0-9a-z]{6}$/);
    const mail = await app.waitForEmail(user.email, (e) =>
      e.subject.includes("authenticator app was turned on"),
    );
    expect(mail.text).not.toContain(recoveryCodes[0]);
    expect((await api.request("GET", "/User1/", { token: access })).json.code).toBe("token_revoked");
    const refreshed = await api.request("POST", "/User1/token", {
      form: { grant_type: "refresh_token", refresh_token: refresh },
    });
    expect(refreshed.status).toBe(401);
    expect(refreshed.json.code).toBe("invalid_grant");
  });

  it("refuses a wrong code or a wrong password and keeps the account without a factor", async () => {
    const { user, access } = await verifiedAccount(app, api);
    const setup = await api.request("POST", "/User1/mfa/totp/setup", { token: access });
    const secret = setup.json.secret as string;
    const wrongCode = await api.request("POST", "/User1/mfa/totp/enable", {
      token: access,
      json: { code: codeAt(app, secret, 5), password: MFA_PASSWORD },
    });
    expect(wrongCode.status).toBe(400);
    expect(wrongCode.json.code).toBe("invalid_mfa_code");
    const wrongPassword = await api.request("POST", "/User1/mfa/totp/enable", {
      token: access,
      json: { code: codeAt(app, secret), password: "not-the-password-1" },
    });
    expect(wrongPassword.status).toBe(403);
    expect(wrongPassword.json.code).toBe("incorrect_password");
    await app.waitForEmail(user.email, (e) => e.subject.includes("settings change was refused"));
    expect((await passwordLogin(api, "User1", user.email)).status).toBe(200);
  });

  it("needs a setup first, and refuses a second authenticator", async () => {
    const { access } = await verifiedAccount(app, api);
    const noSetup = await api.request("POST", "/User1/mfa/totp/enable", {
      token: access,
      json: { code: "123456", password: MFA_PASSWORD },
    });
    expect(noSetup.json.code).toBe("mfa_setup_required");
  });

  it("stores the TOTP secret only encrypted, bound to its record (AAD)", async () => {
    const { user, secret } = await totpAccount();
    const store = await app.context.store();
    const index = (await app.context.accountDeps("blindIndex")).blindIndex("User1", user.email);
    const record = await store.findByEmailIndex("User1", index);
    expect(record?.mfa).toMatch(/^v1\.dk\./);
    expect(JSON.stringify(record)).not.toContain(secret);
    // The same envelope on another record does not open: that account's login fails closed (500
    // decryption_failed), it never passes as "no factor".
    const other = await verifiedAccount(app, api);
    const otherRecord = await store.findByEmailIndex(
      "User1",
      (await app.context.accountDeps("blindIndex")).blindIndex("User1", other.user.email),
    );
    await store.update("User1", otherRecord?.id as string, otherRecord?.version as number, {
      mfa: record?.mfa as string,
    });
    const login = await passwordLogin(api, "User1", other.user.email);
    expect(login.status).toBe(500);
    expect(login.json.code).toBe("decryption_failed");
  });
});

describe("login with a second factor", () => {
  it("answers 403 mfa_required with a token and methods; the next step's code gives tokens with amr otp", async () => {
    const { user, secret } = await totpAccount();
    const res = await passwordLogin(api, "User1", user.email);
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.json.code).toBe("mfa_required");
    expect(res.json.methods).toEqual(["totp", "recovery_code"]);
    expect(res.json.expires_in).toBe(300);
    expect(res.json).not.toHaveProperty("access_token");
    const ok = await verify(api, "User1", res.json.mfa_token as string, "totp", codeAt(app, secret));
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.token_type).toBe("bearer");
    expect(claimsOf(ok.json.access_token as string).amr).toEqual(["pwd", "otp", "mfa"]);
    const profile = await api.request("GET", "/User1/", { token: ok.json.access_token as string });
    expect(profile.status).toBe(200);
  });

  it("accepts the code of one step either side and refuses two steps away", async () => {
    const { user, secret } = await totpAccount();
    for (const offset of [-1, 1]) {
      app.clock.advanceSeconds(90); // past every step used so far
      const { mfaToken } = await mfaChallenge(api, "User1", user.email);
      expect((await verify(api, "User1", mfaToken, "totp", codeAt(app, secret, offset))).status).toBe(200);
    }
    app.clock.advanceSeconds(90);
    const { mfaToken } = await mfaChallenge(api, "User1", user.email);
    const far = await verify(api, "User1", mfaToken, "totp", codeAt(app, secret, 2));
    expect(far.json.code).toBe("invalid_mfa_code");
  });

  it("never accepts the same code (time step) twice, nor an older step after a newer one", async () => {
    const { user, secret } = await totpAccount();
    const code = codeAt(app, secret);
    const first = await mfaChallenge(api, "User1", user.email);
    expect((await verify(api, "User1", first.mfaToken, "totp", code)).status).toBe(200);
    const second = await mfaChallenge(api, "User1", user.email);
    const replay = await verify(api, "User1", second.mfaToken, "totp", code);
    expect(replay.status).toBe(400);
    expect(replay.json.code).toBe("invalid_mfa_code");
    const older = await verify(api, "User1", second.mfaToken, "totp", codeAt(app, secret, -1));
    expect(older.json.code).toBe("invalid_mfa_code");
  });

  it("lets exactly one of two concurrent verifications with the same code succeed", async () => {
    const { user, secret } = await totpAccount();
    const a = await mfaChallenge(api, "User1", user.email);
    const b = await mfaChallenge(api, "User1", user.email);
    const code = codeAt(app, secret);
    const results = await Promise.all([
      verify(api, "User1", a.mfaToken, "totp", code),
      verify(api, "User1", b.mfaToken, "totp", code),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
  });

  it("refuses the mfa_token after use, after 5 minutes, and on the other kind's routes", async () => {
    const { user, secret } = await totpAccount();
    const used = await mfaChallenge(api, "User1", user.email);
    expect((await verify(api, "User1", used.mfaToken, "totp", codeAt(app, secret))).status).toBe(200);
    app.clock.advanceSeconds(30);
    const again = await verify(api, "User1", used.mfaToken, "totp", codeAt(app, secret));
    expect(again.status).toBe(401);
    expect(again.json.code).toBe("invalid_mfa_token");

    const late = await mfaChallenge(api, "User1", user.email);
    app.clock.advanceSeconds(301);
    const expired = await verify(api, "User1", late.mfaToken, "totp", codeAt(app, secret));
    expect(expired.json.code).toBe("invalid_mfa_token");

    const cross = await mfaChallenge(api, "User1", user.email);
    const otherKind = await verify(api, "User2", cross.mfaToken, "totp", codeAt(app, secret));
    expect(otherKind.status).toBe(401);
    expect(otherKind.json.code).toBe("invalid_mfa_token");
    const sms = await api.request("POST", "/User2/mfa/challenge", {
      json: { mfa_token: cross.mfaToken, method: "sms" },
    });
    expect(sms.json.code).toBe("invalid_mfa_token");
    // Still good on its own kind: the refusal spent nothing.
    expect((await verify(api, "User1", cross.mfaToken, "totp", codeAt(app, secret))).status).toBe(200);
  });

  it("answers a wrong password exactly as for an account without a factor (no hint of MFA)", async () => {
    const enrolled = await totpAccount();
    const plain = await verifiedAccount(app, api);
    const a = await passwordLogin(api, "User1", enrolled.user.email, "wrong-Password-123");
    const b = await passwordLogin(api, "User1", plain.user.email, "wrong-Password-123");
    expect(a.status).toBe(401);
    expect(b.status).toBe(401);
    const { request_id: _a, ...bodyA } = a.json;
    const { request_id: _b, ...bodyB } = b.json;
    expect(bodyA).toEqual(bodyB);
    expect(bodyA.code).toBe("invalid_credentials");
    expect(a.headers.get("www-authenticate")).toBe(b.headers.get("www-authenticate"));
  });

  it("counts wrong codes on the password throttle: the budget runs out and even the right code is refused", async () => {
    const { user, secret } = await totpAccount();
    const { mfaToken } = await mfaChallenge(api, "User1", user.email); // attempt 1 (password)
    for (let i = 0; i < 4; i++) {
      const wrong = await verify(api, "User1", mfaToken, "totp", "000000"); // attempts 2..5
      expect(wrong.json.code).toBe("invalid_mfa_code");
    }
    const locked = await verify(api, "User1", mfaToken, "totp", codeAt(app, secret));
    expect(locked.status).toBe(429);
    expect(locked.json.code).toBe("too_many_attempts");
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    // Logging in again does not reset the count: the pair is locked for the password too.
    const relogin = await passwordLogin(api, "User1", user.email);
    expect(relogin.json.code).toBe("too_many_attempts");
    await app.waitForEmail(user.email, (e) => e.subject.includes("wrong two-factor code"));
  });

  it("ends an MFA token after 5 wrong codes", async () => {
    const { user } = await totpAccount();
    const { mfaToken } = await mfaChallenge(api, "User1", user.email);
    const deps = await app.context.accountDeps("loginThrottle", "blindIndex");
    const index = deps.blindIndex("User1", user.email);
    for (let i = 0; i < 5; i++) {
      await deps.loginThrottle.reset("User1", index, "127.0.0.1"); // isolate the token's own limit
      expect((await verify(api, "User1", mfaToken, "totp", "000000")).json.code).toBe("invalid_mfa_code");
    }
    const kv = await app.context.accountDeps("kv");
    expect(await kv.kv.get(redisKeys.mfaToken("User1", hashOpaqueToken(mfaToken)))).toBeNull();
  });
});

describe("recovery codes", () => {
  it("work once, are then refused, and are counted in GET /mfa", async () => {
    const { user, recoveryCodes } = await totpAccount();
    const code = recoveryCodes[3] as string;
    const first = await mfaChallenge(api, "User1", user.email);
    const ok = await verify(api, "User1", first.mfaToken, "recovery_code", code.toUpperCase());
    expect(ok.status, ok.text).toBe(200);
    expect(claimsOf(ok.json.access_token as string).amr).toEqual(["pwd", "mfa"]);
    await app.waitForEmail(user.email, (e) => e.subject.includes("recovery code was used"));
    const status = await api.request("GET", "/User1/mfa", { token: ok.json.access_token as string });
    expect(status.json).toEqual({
      methods: ["totp", "recovery_code"],
      recovery_codes_remaining: 9,
      totp_pending: false,
    });
    const second = await mfaChallenge(api, "User1", user.email);
    const reused = await verify(api, "User1", second.mfaToken, "recovery_code", code);
    expect(reused.status).toBe(400);
    expect(reused.json.code).toBe("invalid_mfa_code");
  });

  it("are stored only as keyed hashes, and a new set kills the old one", async () => {
    const { user, secret, recoveryCodes } = await totpAccount();
    const store = await app.context.store();
    const deps = await app.context.accountDeps("blindIndex", "ring");
    const record = await store.findByEmailIndex("User1", deps.blindIndex("User1", user.email));
    const { openMfaState } = await import("../../shared/accounts/mfa-state");
    const state = await openMfaState(deps.ring, "User1", record as NonNullable<typeof record>);
    expect(state?.recoveryCodes).toHaveLength(10);
    for (const code of recoveryCodes) {
      expect(JSON.stringify(state)).not.toContain(code);
      expect(JSON.stringify(state)).not.toContain(code.replace("-", ""));
    }
    const session = await fullLogin("User1", user.email, secret);
    const fresh = await api.request("POST", "/User1/mfa/recovery_codes", {
      token: session.access_token,
      json: { password: MFA_PASSWORD },
    });
    expect(fresh.status, fresh.text).toBe(200);
    expect(fresh.json.recovery_codes).toHaveLength(10);
    await app.waitForEmail(user.email, (e) => e.subject.includes("New recovery codes"));
    const { mfaToken } = await mfaChallenge(api, "User1", user.email);
    expect((await verify(api, "User1", mfaToken, "recovery_code", recoveryCodes[0] as string)).status).toBe(
      400,
    );
    const newCode = (fresh.json.recovery_codes as string[])[0] as string;
    expect((await verify(api, "User1", mfaToken, "recovery_code", newCode)).status).toBe(200);
  });
});

describe("SMS as the second factor", () => {
  it("needs a verified phone, shares the phone-code cool-down, and logs in with the code sent for the token", async () => {
    const { user, access } = await verifiedAccount(app, api);
    const notVerified = await api.request("POST", "/User1/mfa/sms/enable", {
      token: access,
      json: { password: MFA_PASSWORD },
    });
    expect(notVerified.status).toBe(409);
    expect(notVerified.json.code).toBe("phone_not_verified");
    expect((await api.request("POST", "/User1/otp_phone", { token: access })).status).toBe(202);
    const otp = smsCode((await app.waitForSms(user.phone)).body);
    expect(
      (await api.request("POST", "/User1/verify_otp_phone", { token: access, json: { otp } })).status,
    ).toBe(200);
    const enabled = await api.request("POST", "/User1/mfa/sms/enable", {
      token: access,
      json: { password: MFA_PASSWORD },
    });
    expect(enabled.status, enabled.text).toBe(200);
    expect(enabled.json.methods).toEqual(["sms", "recovery_code"]);
    expect(enabled.json.recovery_codes).toHaveLength(10);

    const { mfaToken, methods } = await mfaChallenge(api, "User1", user.email);
    expect(methods).toEqual(["sms", "recovery_code"]);
    const challenge = () =>
      api.request("POST", "/User1/mfa/challenge", { json: { mfa_token: mfaToken, method: "sms" } });
    const tooSoon = await challenge();
    expect(tooSoon.status).toBe(429); // the phone verification's cool-down (1 s here) still runs
    expect(tooSoon.json.code).toBe("otp_cooldown");
    await sleep(1100);
    const sent = await challenge();
    expect(sent.status, sent.text).toBe(202);
    const sms = await app.waitForSms(user.phone, (s) => s.body !== `${otp}`);
    const code = smsCode(sms.body);
    expect(code).not.toBe(otp);
    // A code sent for this token completes no other login.
    const other = await mfaChallenge(api, "User1", user.email);
    expect((await verify(api, "User1", other.mfaToken, "sms", code)).json.code).toBe("invalid_mfa_code");
    const ok = await verify(api, "User1", mfaToken, "sms", code);
    expect(ok.status, ok.text).toBe(200);
    expect(claimsOf(ok.json.access_token as string).amr).toEqual(["pwd", "sms", "mfa"]);
    await app.waitForEmail(user.email, (e) => e.subject.includes("SMS codes was turned on"));
  });

  it("counts MFA codes on the same SMS guard as phone verification (per-account daily budget)", async () => {
    const capped = await startTestApp(
      {
        RATE_LIMITS: GENEROUS_RATE_LIMITS,
        OTP_RESEND_COOLDOWN_SECONDS: "1",
        SMS_ACCOUNT_DAILY_LIMIT: "2",
        SMS_NUMBER_ACCOUNT_DAILY_LIMIT: "2",
      },
      { redis: app.redis },
    );
    try {
      const client = apiClient(capped);
      const { user, access } = await verifiedAccount(capped, client);
      expect((await client.request("POST", "/User1/otp_phone", { token: access })).status).toBe(202); // 1st SMS
      const otp = smsCode((await capped.waitForSms(user.phone)).body);
      expect(
        (await client.request("POST", "/User1/verify_otp_phone", { token: access, json: { otp } })).status,
      ).toBe(200);
      expect(
        (
          await client.request("POST", "/User1/mfa/sms/enable", {
            token: access,
            json: { password: MFA_PASSWORD },
          })
        ).status,
      ).toBe(200);
      const { mfaToken } = await mfaChallenge(client, "User1", user.email);
      const challenge = () =>
        client.request("POST", "/User1/mfa/challenge", { json: { mfa_token: mfaToken, method: "sms" } });
      await sleep(1100); // past the shared 1 s cool-down
      expect((await challenge()).status).toBe(202); // 2nd SMS of the account today
      await sleep(1100);
      const over = await challenge();
      expect(over.status).toBe(429);
      expect(over.json.code).toBe("sms_account_daily_limit");
      expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
    } finally {
      await capped.stop();
    }
  });

  it("refuses an SMS challenge or code for an account without SMS enrolled", async () => {
    const { user } = await totpAccount();
    const { mfaToken } = await mfaChallenge(api, "User1", user.email);
    const res = await api.request("POST", "/User1/mfa/challenge", {
      json: { mfa_token: mfaToken, method: "sms" },
    });
    expect(res.status).toBe(422);
    expect(res.json.code).toBe("mfa_method_not_enrolled");
  });
});

describe("no path issues a session for an enrolled account without the second factor", () => {
  it("login: a correct password alone never yields tokens", async () => {
    const { user } = await totpAccount();
    const res = await passwordLogin(api, "User1", user.email);
    expect(res.status).toBe(403);
    expect(res.json).not.toHaveProperty("access_token");
    expect(res.json).not.toHaveProperty("refresh_token");
  });

  it("token refresh: sessions from before the enrolment are dead; a two-factor session keeps its amr", async () => {
    const { user, refresh, secret } = await totpAccount();
    const old = await api.request("POST", "/User1/token", {
      form: { grant_type: "refresh_token", refresh_token: refresh },
    });
    expect(old.json.code).toBe("invalid_grant");
    const session = await fullLogin("User1", user.email, secret);
    const rotated = await api.request("POST", "/User1/token", {
      form: { grant_type: "refresh_token", refresh_token: session.refresh_token },
    });
    expect(rotated.status, rotated.text).toBe(200);
    expect(claimsOf(rotated.json.access_token as string).amr).toEqual(["pwd", "otp", "mfa"]);
  });

  it("change_password: a pre-enrolment token is refused; a two-factor session keeps its factor level", async () => {
    const { user, access, secret } = await totpAccount();
    const body = { current_password: MFA_PASSWORD, new_password: "Another-Strong-Passphrase-77" };
    const stale = await api.request("POST", "/User1/change_password", { token: access, json: body });
    expect(stale.status).toBe(401);
    const session = await fullLogin("User1", user.email, secret);
    const changed = await api.request("POST", "/User1/change_password", {
      token: session.access_token,
      json: body,
    });
    expect(changed.status, changed.text).toBe(200);
    expect(claimsOf(changed.json.access_token as string).amr).toEqual(["pwd", "otp", "mfa"]);
    const relogin = await passwordLogin(api, "User1", user.email, body.new_password);
    expect(relogin.json.code).toBe("mfa_required");
  });

  it("change_password: a password-only token of an enrolled account (older than the rule) gets no session", async () => {
    const { user, secret } = await totpAccount();
    const session = await fullLogin("User1", user.email, secret);
    const { sub, sid, cep } = claimsOf(session.access_token);
    const tokens = (await app.context.accountDeps("tokens")).tokens;
    const forged = await tokens.issue({ subject: sub as string, audience: "User1", extra: { sid, cep } });
    const res = await api.request("POST", "/User1/change_password", {
      token: forged.token,
      json: { current_password: MFA_PASSWORD, new_password: "Another-Strong-Passphrase-78" },
    });
    expect(res.status).toBe(401);
    expect(res.json.code).toBe("token_revoked");
  });

  it("password reset: keeps the factor, ends the pending MFA token, and the new password still needs the code", async () => {
    const { user, secret } = await totpAccount();
    const pending = await mfaChallenge(api, "User1", user.email);
    expect(
      (await api.request("POST", "/User1/forget_password", { json: { email: user.email } })).status,
    ).toBe(200);
    const mail = await app.waitForEmail(user.email, (e) =>
      e.links.some((l) => l.includes("reset_password_form")),
    );
    const token = new URL(
      mail.links.find((l) => l.includes("reset_password_form")) as string,
    ).searchParams.get("token") as string;
    const newPassword = "Reset-Passphrase-Orbit-4242";
    const reset = await api.request("POST", "/User1/reset_password", {
      json: { token, password: newPassword },
    });
    expect(reset.status, reset.text).toBe(200);
    expect(reset.json).not.toHaveProperty("access_token");
    // The MFA token issued before the reset is bound to the old credential epoch.
    const stale = await verify(api, "User1", pending.mfaToken, "totp", codeAt(app, secret));
    expect(stale.json.code).toBe("invalid_mfa_token");
    app.clock.advanceSeconds(30);
    const login = await passwordLogin(api, "User1", user.email, newPassword);
    expect(login.status).toBe(403);
    expect(login.json.code).toBe("mfa_required");
    const ok = await verify(api, "User1", login.json.mfa_token as string, "totp", codeAt(app, secret));
    expect(ok.status, ok.text).toBe(200);
  });
});

describe("disabling a factor", () => {
  it("needs the password and a current code, removes the recovery codes with the last factor, and mails the owner", async () => {
    const { user, secret, recoveryCodes } = await totpAccount();
    const session = await fullLogin("User1", user.email, secret);
    const noCode = await api.request("POST", "/User1/mfa/disable", {
      token: session.access_token,
      json: { method: "totp", password: MFA_PASSWORD, code: "000000" },
    });
    expect(noCode.json.code).toBe("invalid_mfa_code");
    const wrongMethod = await api.request("POST", "/User1/mfa/disable", {
      token: session.access_token,
      json: { method: "sms", password: MFA_PASSWORD, code: recoveryCodes[0] },
    });
    expect(wrongMethod.json.code).toBe("mfa_method_not_enrolled");
    const off = await api.request("POST", "/User1/mfa/disable", {
      token: session.access_token,
      json: { method: "totp", password: MFA_PASSWORD, code: codeAt(app, secret) },
    });
    expect(off.status, off.text).toBe(200);
    expect(off.json.methods).toEqual([]);
    await app.waitForEmail(user.email, (e) => e.subject.includes("authenticator app was turned off"));
    const login = await passwordLogin(api, "User1", user.email);
    expect(login.status).toBe(200);
    expect(claimsOf(login.json.access_token as string).amr).toEqual(["pwd"]);
  });
});

describe("audit trail", () => {
  it("records enrolment changes and second-factor failures under the account, with their codes", async () => {
    const { user, secret } = await totpAccount();
    const { mfaToken } = await mfaChallenge(api, "User1", user.email);
    expect((await verify(api, "User1", mfaToken, "totp", "000000")).status).toBe(400);
    expect((await verify(api, "User1", mfaToken, "totp", codeAt(app, secret))).status).toBe(200);
    const userId = (
      await (
        await app.context.store()
      ).findByEmailIndex(
        "User1",
        (await app.context.accountDeps("blindIndex")).blindIndex("User1", user.email),
      )
    )?.id as string;
    const log = await app.context.auditLog();
    let events: Awaited<ReturnType<typeof log.listForActor>> = [];
    for (let i = 0; i < 50 && events.filter((e) => e.action === "mfa_verify").length < 2; i++) {
      await sleep(20); // audit writes run beside the response (waitUntil)
      events = await log.listForActor("User1", userId, 100);
    }
    const summary = events.map((e) => `${e.action}:${e.outcome}:${e.code ?? ""}`);
    expect(summary).toContain("mfa_change:success:");
    expect(summary).toContain("mfa_verify:failure:invalid_mfa_code");
    expect(summary).toContain("mfa_verify:success:");
  });
});

describe("every route exists for every kind and validates its input", () => {
  it.each(["User1", "User2"])(
    "%s: enrolment routes need a bearer token of the kind; bodies are strict",
    async (kind) => {
      for (const path of [
        "/mfa/totp/setup",
        "/mfa/totp/enable",
        "/mfa/sms/enable",
        "/mfa/disable",
        "/mfa/recovery_codes",
      ]) {
        const res = await api.request("POST", `/${kind}${path}`, { json: {} });
        expect(res.status, path).toBe(401);
      }
      expect((await api.request("GET", `/${kind}/mfa`)).status).toBe(401);
      const { access } = await verifiedAccount(app, api, kind);
      const extra = await api.request("POST", `/${kind}/mfa/recovery_codes`, {
        token: access,
        json: { password: MFA_PASSWORD, role: "admin" },
      });
      expect(extra.status).toBe(422);
      const injected = await api.request("POST", `/${kind}/mfa/verify`, {
        json: { mfa_token: { $ne: null }, method: "totp", code: "123456" },
      });
      expect(injected.status).toBe(422);
      const noFactor = await api.request("POST", `/${kind}/mfa/recovery_codes`, {
        token: access,
        json: { password: MFA_PASSWORD },
      });
      expect(noFactor.json.code).toBe("mfa_not_enabled");
    },
  );
});
