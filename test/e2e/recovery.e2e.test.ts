import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { confirmVerificationLink } from "../fixtures/accounts";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { apiClient, startTestServer, type TestServer } from "../helpers/local-server";

/**
 * Password reset, password change, phone verification by SMS code, refresh-token rotation and
 * log-out-everywhere, end to end over real HTTP against the local runtime (SQLite, Redis behind
 * the Upstash bridge, the QStash emulator delivering to the email/SMS functions, Resend/Twilio capture).
 */
let server: TestServer;
let api: ReturnType<typeof apiClient>;

/** SMS cool-down of this server, seconds: short, so "after the cool-down" takes a moment. */
const COOLDOWN_SECONDS = 3;

beforeAll(async () => {
  server = await startTestServer({
    RATE_LIMITS: GENEROUS_RATE_LIMITS,
    OTP_RESEND_COOLDOWN_SECONDS: String(COOLDOWN_SECONDS),
  });
  api = apiClient(server.url);
});
afterAll(async () => {
  await server?.stop();
});

const PASSWORD = "Tr0ub4dor&3-horse-Battery";
const NEW_PASSWORD = "Correct-Staple-Orbit-7319";
const SENT = { message: "Password reset link sent to your email" };
let counter = 0;
const unique = () => `${Date.now().toString(36)}${counter++}`;
/** A distinct valid US number per user, so per-phone SMS caps of one test never touch another. */
let phones = 0;
const phoneNumber = () => `+1415555${1000 + phones++}`;

interface Session {
  access: string;
  refresh: string;
}

async function login(kind: string, email: string, password = PASSWORD) {
  return api.request("POST", `/${kind}/login`, { form: { username: email, password } });
}

async function session(kind: string, email: string, password = PASSWORD): Promise<Session> {
  const res = await login(kind, email, password);
  expect(res.status, res.text).toBe(200);
  return { access: res.json.access_token as string, refresh: res.json.refresh_token as string };
}

/** Registers (and by default verifies) a user; returns it with a first session. */
async function activeUser(kind = "User1", overrides: { email?: string; verify?: boolean } = {}) {
  const user = {
    first_name: "Grace",
    last_name: "Hopper",
    email: overrides.email ?? `grace.${unique()}@example.com`,
    phone: phoneNumber(),
    country_code: "US",
    password: PASSWORD,
  };
  const created = await api.request("POST", `/${kind}/create`, { json: user });
  expect(created.status, created.text).toBe(201);
  const mail = await server.waitForEmail(user.email, (e) =>
    e.links.some((l) => l.includes("/verify?token=")),
  );
  const verifyLink = mail.links.find((l) => l.includes("/verify?token=")) as string;
  if (overrides.verify === false) return { user, verifyLink, tokens: undefined };
  expect((await confirmVerificationLink(server, verifyLink)).status).toBe(200);
  return { user, verifyLink, tokens: await session(kind, user.email) };
}

async function resetLinkFor(email: string) {
  const mail = await server.waitForEmail(email, (e) =>
    e.links.some((l) => l.includes("/reset_password_form?token=")),
  );
  return mail.links.find((l) => l.includes("/reset_password_form?token=")) as string;
}

const tokenOf = (link: string) => new URL(link).searchParams.get("token") as string;

const refresh = (kind: string, refreshToken: string) =>
  api.request("POST", `/${kind}/token`, {
    form: { grant_type: "refresh_token", refresh_token: refreshToken },
  });

describe("password reset by emailed link", () => {
  it("resets through forget → mail → form → form post; afterwards the old password, earlier access and refresh tokens, and the used link all fail", async () => {
    const { user, tokens } = await activeUser();
    const before = tokens as Session;

    const forget = await api.request("POST", "/User1/forget_password", { json: { email: user.email } });
    expect(forget.status).toBe(200);
    expect(forget.json).toEqual(SENT);

    const link = await resetLinkFor(user.email);
    expect(link.startsWith(`${server.url}/User1/reset_password_form?token=`)).toBe(true);
    const token = tokenOf(link);

    const form = await fetch(link);
    expect(form.status).toBe(200);
    expect(form.headers.get("referrer-policy")).toBe("no-referrer");
    expect(form.headers.get("cache-control")).toBe("no-store");
    expect(form.headers.get("content-type")).toMatch(/^text\/html/);
    expect(form.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
    const html = await form.text();
    const action = /<form[^>]*action="([^"]*)"/.exec(html)?.[1] ?? "";
    expect(action).toBe(`${server.url}/User1/reset_password`);
    expect(action).not.toContain(token);
    expect(html).toContain(`<input type="hidden" name="token" value="${token}">`);
    expect(html).toMatch(/<form[^>]*method="post"/);
    // Nothing loaded from anywhere: no scripts, stylesheets, images or frames.
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=/i);

    const reset = await api.request("POST", "/User1/reset_password", {
      form: { token, password: NEW_PASSWORD },
      headers: { origin: server.url },
    });
    expect(reset.status, reset.text).toBe(200);
    expect(reset.headers.get("content-type")).toMatch(/^text\/html/);
    expect(reset.text).toContain("Password has been reset successfully");

    expect((await login("User1", user.email)).status).toBe(401);
    expect((await login("User1", user.email, NEW_PASSWORD)).status).toBe(200);
    const oldAccess = await api.request("GET", "/User1/", { token: before.access });
    expect(oldAccess.status).toBe(401);
    expect(oldAccess.json.code).toBe("token_revoked");
    const oldRefresh = await refresh("User1", before.refresh);
    expect(oldRefresh.status).toBe(401);
    expect(oldRefresh.json.code).toBe("invalid_grant");

    const again = await api.request("POST", "/User1/reset_password", {
      json: { token, password: "Another-Fresh-Passphrase-42" },
    });
    expect(again.status).toBe(400);
    expect(again.json.code).toBe("invalid_or_expired_token");
    const againPage = await api.request("POST", "/User1/reset_password", {
      form: { token, password: "Another-Fresh-Passphrase-42" },
      headers: { origin: server.url },
    });
    expect(againPage.status).toBe(400);
    expect(againPage.headers.get("content-type")).toMatch(/^text\/html/);
    expect((await login("User1", user.email, NEW_PASSWORD)).status).toBe(200);

    await server.waitForEmail(user.email, (e) => /password was changed/i.test(e.subject));
  });

  it("answers forget_password for an unknown email exactly like a known one and mails nothing", async () => {
    const { user } = await activeUser();
    const unknown = `nobody.${unique()}@example.com`;
    const answers = [
      await api.request("POST", "/User1/forget_password", { json: { email: unknown } }),
      await api.request("GET", `/User1/forget_password?email=${encodeURIComponent(unknown)}`),
      await api.request("POST", "/User1/forget_password", { form: { email: unknown } }),
      await api.request("POST", "/User1/forget_password", { json: { email: user.email } }),
    ];
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.text).toBe(JSON.stringify(SENT));
      expect(a.headers.get("content-type")).toBe(answers[0]?.headers.get("content-type"));
    }
    // The known account's mail was requested last and has arrived, so the unknown one had every chance.
    await resetLinkFor(user.email);
    expect(server.outbox.emails().filter((e) => e.to.toLowerCase() === unknown)).toEqual([]);
  });

  it("mails the reset link to the address on record even when the request typed it in another case", async () => {
    const onRecord = `Ada.Case.${unique()}@Example.com`;
    await activeUser("User1", { email: onRecord });
    const typed = onRecord.toUpperCase();
    const res = await api.request("GET", `/User1/forget_password?email=${encodeURIComponent(typed)}`);
    expect(res.status).toBe(200);
    const link = await resetLinkFor(onRecord);
    expect(link).toContain("/User1/reset_password_form?token=");
    expect(server.outbox.emails().filter((e) => e.to === typed)).toEqual([]);
  });

  it("refuses a verification link at reset_password and a reset link at /verify, and both still work for their own purpose", async () => {
    const { user, verifyLink } = await activeUser("User2", { verify: false });
    expect(
      (await api.request("POST", "/User2/forget_password", { json: { email: user.email } })).status,
    ).toBe(200);
    const resetLink = await resetLinkFor(user.email);

    const crossReset = await api.request("POST", "/User2/reset_password", {
      json: { token: tokenOf(verifyLink), password: NEW_PASSWORD },
    });
    expect(crossReset.status).toBe(400);
    expect(crossReset.json.code).toBe("invalid_or_expired_token");
    const crossVerify = await api.request("POST", "/User2/verify", { json: { token: tokenOf(resetLink) } });
    expect(crossVerify.status).toBe(400);
    expect(crossVerify.json.code).toBe("invalid_or_expired_token");

    expect((await confirmVerificationLink(server, verifyLink)).status).toBe(200);
    const reset = await api.request("POST", "/User2/reset_password", {
      json: { token: tokenOf(resetLink), password: NEW_PASSWORD },
    });
    expect(reset.status, reset.text).toBe(200);
    expect(reset.json).toEqual({ message: "Password has been reset successfully" });
    expect((await login("User2", user.email, NEW_PASSWORD)).status).toBe(200);
  });
});

describe("phone verification by SMS code", () => {
  const codeOf = (body: string) => /\b(\d{6})\b/.exec(body)?.[1] as string;
  const otherCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");

  it("kills a code after five wrong tries, refuses a second send inside the cool-down, and verifies with a fresh code", async () => {
    const { user, tokens } = await activeUser();
    const { access } = tokens as Session;

    const sent = await api.request("POST", "/User1/otp_phone", { token: access });
    expect(sent.status, sent.text).toBe(202);
    const early = await api.request("POST", "/User1/otp_phone", { token: access });
    expect(early.status).toBe(429);
    expect(early.json.code).toBe("otp_cooldown");
    expect(Number(early.headers.get("retry-after"))).toBeGreaterThan(0);

    const first = await server.waitForSms(user.phone);
    const code = codeOf(first.body);
    expect(code).toMatch(/^\d{6}$/);
    expect(sent.text).not.toContain(code);

    for (let i = 0; i < 5; i++) {
      const wrong = await api.request("POST", "/User1/verify_otp_phone", {
        token: access,
        json: { otp: otherCode(code) },
      });
      expect(wrong.status).toBe(400);
      expect(wrong.json.code).toBe("invalid_otp");
    }
    const dead = await api.request("POST", "/User1/verify_otp_phone", { token: access, json: { otp: code } });
    expect(dead.status).toBe(400);
    expect(dead.json.code).toBe("invalid_otp");
    expect((await api.request("GET", "/User1/", { token: access })).json.phone_verified).toBe(false);

    // After the cool-down a new code is sent; it replaces the dead one.
    let again = await api.request("POST", "/User1/otp_phone", { token: access });
    for (let i = 0; again.status === 429 && i < 80; i++) {
      await new Promise((r) => setTimeout(r, 100));
      again = await api.request("POST", "/User1/otp_phone", { token: access });
    }
    expect(again.status, again.text).toBe(202);
    const second = await server.waitForSms(user.phone, (s) => s.id !== first.id);
    const ok = await api.request("GET", `/User1/verify_otp_phone?otp=${codeOf(second.body)}`, {
      token: access,
    });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json).toEqual({ message: "Phone number verified successfully" });
    const profile = await api.request("GET", "/User1/", { token: access });
    expect(profile.json).toMatchObject({ phone: user.phone, phone_verified: true });

    const replay = await api.request("POST", "/User1/verify_otp_phone", {
      token: access,
      json: { otp: codeOf(second.body) },
    });
    expect(replay.status).toBe(400);
  });

  it("verifying a code sent to another number makes that number the profile's verified phone", async () => {
    const { tokens } = await activeUser("User2");
    const { access } = tokens as Session;
    const other = "+447400123456"; // a UK mobile (SMS goes to mobile ranges only)
    const sent = await api.request("POST", "/User2/otp_phone", { token: access, json: { phone: other } });
    expect(sent.status, sent.text).toBe(202);
    const sms = await server.waitForSms(other);
    const ok = await api.request("POST", "/User2/verify_otp_phone", {
      token: access,
      form: { otp: codeOf(sms.body) },
    });
    expect(ok.status, ok.text).toBe(200);
    const profile = await api.request("GET", "/User2/", { token: access });
    expect(profile.json).toMatchObject({ phone: other, country: "GB", phone_verified: true });
  });
});

describe("refresh tokens", () => {
  it("login returns a refresh token that rotates on every use into a working token pair", async () => {
    const { tokens } = await activeUser();
    const { refresh: r0 } = tokens as Session;
    expect(r0).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const first = await refresh("User1", r0);
    expect(first.status, first.text).toBe(200);
    expect(first.json).toMatchObject({ token_type: "bearer", expires_in: 1800 });
    expect(first.headers.get("cache-control")).toBe("no-store");
    expect(first.json.refresh_token).not.toBe(r0);
    const profile = await api.request("GET", "/User1/", { token: first.json.access_token as string });
    expect(profile.status).toBe(200);
    const json = await api.request("POST", "/User1/token", {
      json: { grant_type: "refresh_token", refresh_token: first.json.refresh_token },
    });
    expect(json.status, json.text).toBe(200);
  });

  it("a reused refresh token revokes the family: replaying the first after two rotations fails, and so do the latest refresh and access tokens", async () => {
    const { tokens } = await activeUser();
    const r0 = (tokens as Session).refresh;
    const one = await refresh("User1", r0);
    const two = await refresh("User1", one.json.refresh_token as string);
    expect(two.status).toBe(200);

    const replay = await refresh("User1", r0);
    expect(replay.status).toBe(401);
    expect(replay.json.code).toBe("invalid_grant");
    expect(replay.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(replay.headers.get("content-type")).toMatch(/application\/problem\+json/);

    expect((await refresh("User1", two.json.refresh_token as string)).status).toBe(401);
    const access = await api.request("GET", "/User1/", { token: two.json.access_token as string });
    expect(access.status).toBe(401);
  });

  it("two concurrent refreshes with the same token inside the grace window both succeed with the same refresh token", async () => {
    const { tokens } = await activeUser();
    const r0 = (tokens as Session).refresh;
    const [a, b] = await Promise.all([refresh("User1", r0), refresh("User1", r0)]);
    expect(a.status, a.text).toBe(200);
    expect(b.status, b.text).toBe(200);
    expect(a.json.refresh_token).toBe(b.json.refresh_token);
    // The family did not branch or die: the shared successor rotates normally.
    expect((await refresh("User1", a.json.refresh_token as string)).status).toBe(200);
  });

  it("logout ends the session's refresh family, not the user's other sessions", async () => {
    const { user, tokens } = await activeUser();
    const here = tokens as Session;
    const elsewhere = await session("User1", user.email);
    expect((await api.request("POST", "/User1/logout", { token: here.access })).status).toBe(200);
    expect((await refresh("User1", here.refresh)).status).toBe(401);
    expect((await refresh("User1", elsewhere.refresh)).status).toBe(200);
  });

  it("logout_all ends every access and refresh token of the user, and a new login works", async () => {
    const { user, tokens } = await activeUser("User2");
    const a = tokens as Session;
    const b = await session("User2", user.email);
    const out = await api.request("POST", "/User2/logout_all", { token: a.access });
    expect(out.status, out.text).toBe(200);
    for (const s of [a, b]) {
      expect((await api.request("GET", "/User2/", { token: s.access })).status).toBe(401);
      expect((await refresh("User2", s.refresh)).status).toBe(401);
    }
    const fresh = await session("User2", user.email);
    expect((await api.request("GET", "/User2/", { token: fresh.access })).status).toBe(200);
    expect((await refresh("User2", fresh.refresh)).status).toBe(200);
  });
});

describe("change_password", () => {
  it("refuses a wrong current password with 403 and a weak new one with 422, changing nothing", async () => {
    const { user, tokens } = await activeUser();
    const { access } = tokens as Session;
    const wrong = await api.request("POST", "/User1/change_password", {
      token: access,
      json: { current_password: "not-my-password-1", new_password: NEW_PASSWORD },
    });
    expect(wrong.status).toBe(403);
    expect(wrong.json.code).toBe("incorrect_password");
    const weak = await api.request("POST", "/User1/change_password", {
      token: access,
      json: { current_password: PASSWORD, new_password: "password1" },
    });
    expect(weak.status).toBe(422);
    expect(weak.json.code).toBe("weak_password");
    expect((await api.request("GET", "/User1/", { token: access })).status).toBe(200);
    expect((await login("User1", user.email)).status).toBe(200);
  });

  it("changes the password, ends every earlier session and returns a working new token pair", async () => {
    const { user, tokens } = await activeUser();
    const here = tokens as Session;
    const elsewhere = await session("User1", user.email);
    const res = await api.request("POST", "/User1/change_password", {
      token: here.access,
      json: { current_password: PASSWORD, new_password: NEW_PASSWORD },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ message: "Password changed successfully", token_type: "bearer" });
    for (const s of [here, elsewhere]) {
      expect((await api.request("GET", "/User1/", { token: s.access })).status).toBe(401);
      expect((await refresh("User1", s.refresh)).status).toBe(401);
    }
    expect((await api.request("GET", "/User1/", { token: res.json.access_token as string })).status).toBe(
      200,
    );
    expect((await refresh("User1", res.json.refresh_token as string)).status).toBe(200);
    expect((await login("User1", user.email)).status).toBe(401);
    expect((await login("User1", user.email, NEW_PASSWORD)).status).toBe(200);
    await server.waitForEmail(user.email, (e) => /password was changed/i.test(e.subject));
  });
});
