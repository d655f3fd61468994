import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../shared/observability/logger";
import { confirmVerificationLink } from "../fixtures/accounts";
import { startTestApp, type TestApp } from "../fixtures/context";
import { apiClient } from "../helpers/api-client";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { createTestUpstashClient } from "../helpers/redis";

/**
 * DESIGN.md §5/§9 rules of password reset, phone OTP and refresh tokens that the end-to-end flows
 * do not already pin down, in process: every function's `createApp(ctx)` on one test context
 * (real redis-server behind the Upstash bridge, SQLite file, capturing notifier). The functions log
 * at debug level into `logLines` (the context's logger writes there; anything else written to
 * `process.stdout` is captured too), so "never logged" is checked against what was really written.
 * The reset form in a real browser runs against the local server: `test/browser/reset-form.browser.test.ts`.
 */
let app: TestApp;
let api: ReturnType<typeof apiClient>;
const logLines: string[] = [];
let restoreStdout: () => void = () => undefined;
const log = createLogger({
  level: "debug",
  destination: { write: (line: string) => void logLines.push(line) },
});

/** Reset-link lifetime of the one app that waits a link out (a Redis TTL: real seconds). */
const RESET_TTL_SECONDS = 1;
const DAILY_LIMIT = 3;
const SETTINGS = {
  RATE_LIMITS: GENEROUS_RATE_LIMITS,
  OTP_RESEND_COOLDOWN_SECONDS: "1",
  OTP_DAILY_LIMIT: String(DAILY_LIMIT),
  LOG_LEVEL: "debug",
};

beforeAll(async () => {
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    logLines.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  }) as typeof process.stdout.write;
  restoreStdout = () => {
    process.stdout.write = original;
  };
  app = await startTestApp(SETTINGS, { log });
  api = apiClient(app);
});
afterAll(async () => {
  await app?.stop();
  restoreStdout();
});

const PASSWORD = "Tr0ub4dor&3-horse-Battery";
const NEW_PASSWORD = "Correct-Staple-Orbit-7319";
let counter = 0;
const unique = () => `${Date.now().toString(36)}${counter++}`;
let phones = 0;
const phoneNumber = () => `+1202555${1000 + phones++}`;

async function activeUser(kind = "User1", phone = phoneNumber(), on: TestApp = app, client = api) {
  const user = {
    first_name: "Alan",
    last_name: "Turing",
    email: `alan.${unique()}@example.com`,
    phone,
    country_code: "US",
    password: PASSWORD,
  };
  expect((await client.request("POST", `/${kind}/create`, { json: user })).status).toBe(201);
  const mail = await on.waitForEmail(user.email, (e) => e.links.some((l) => l.includes("/verify?token=")));
  expect(
    (await confirmVerificationLink(on, mail.links.find((l) => l.includes("/verify?token=")) as string))
      .status,
  ).toBe(200);
  const login = await client.request("POST", `/${kind}/login`, {
    form: { username: user.email, password: PASSWORD },
  });
  expect(login.status).toBe(200);
  return { user, access: login.json.access_token as string, refresh: login.json.refresh_token as string };
}

/** Requests a reset for `email` and returns the mailed token (the newest reset mail to it). */
async function resetToken(kind: string, email: string, on: TestApp = app, client = api) {
  expect((await client.request("POST", `/${kind}/forget_password`, { json: { email } })).status).toBe(200);
  const mail = await on.waitForEmail(email, (e) => e.links.some((l) => l.includes("reset_password_form")));
  const link = mail.links.find((l) => l.includes("reset_password_form")) as string;
  return new URL(link).searchParams.get("token") as string;
}

const resetForm = (kind: string, token: string, headers: Record<string, string>) =>
  api.request("POST", `/${kind}/reset_password`, { form: { token, password: NEW_PASSWORD }, headers });

describe("the reset form cannot be posted cross-site", () => {
  it.each([
    ["Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site", origin: "https://evil.example" }],
    ["Sec-Fetch-Site: same-site", { "sec-fetch-site": "same-site" }],
    ["a foreign Origin", { origin: "https://evil.example" }],
    ["Origin: null without Fetch Metadata", { origin: "null" }],
    ["neither Origin nor Sec-Fetch-Site", {}],
  ])(
    "refuses a form post with %s (403 cross_site_request) and leaves the link usable",
    async (_, headers) => {
      const { user } = await activeUser();
      const token = await resetToken("User1", user.email);
      const refused = await resetForm("User1", token, headers);
      expect(refused.status).toBe(403);
      expect(refused.json.code).toBe("cross_site_request");
      const same = await resetForm("User1", token, { "sec-fetch-site": "same-origin", origin: "null" });
      expect(same.status, same.text).toBe(200);
    },
  );

  it("accepts a JSON post without Origin (a foreign page cannot send JSON without CORS)", async () => {
    const { user } = await activeUser();
    const token = await resetToken("User1", user.email);
    const res = await api.request("POST", "/User1/reset_password", {
      json: { token, password: NEW_PASSWORD },
    });
    expect(res.status, res.text).toBe(200);
  });
});

describe("reset links are single use, expire, and die with any password change", () => {
  it("lets exactly one of two concurrent uses of a link succeed", async () => {
    const { user } = await activeUser();
    const token = await resetToken("User1", user.email);
    const results = await Promise.all(
      ["Parallel-Universe-Alpha-91", "Parallel-Universe-Bravo-92"].map((password) =>
        api.request("POST", "/User1/reset_password", { json: { token, password } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
  });

  it("refuses a link after its TTL", async () => {
    // Its own app with a short link lifetime, on the same Redis: the TTL is Redis's, so real time passes.
    const short = await startTestApp(
      { ...SETTINGS, PASSWORD_RESET_TTL_SECONDS: String(RESET_TTL_SECONDS) },
      { redis: app.redis, log },
    );
    try {
      const shortApi = apiClient(short);
      const { user } = await activeUser("User1", phoneNumber(), short, shortApi);
      const token = await resetToken("User1", user.email, short, shortApi);
      await new Promise((r) => setTimeout(r, RESET_TTL_SECONDS * 1000 + 500));
      const res = await shortApi.request("POST", "/User1/reset_password", {
        json: { token, password: NEW_PASSWORD },
      });
      expect(res.status).toBe(400);
      expect(res.json.code).toBe("invalid_or_expired_token");
    } finally {
      await short.stop();
    }
  });

  it("refuses an older link once the password was changed another way", async () => {
    const { user, access } = await activeUser();
    const token = await resetToken("User1", user.email);
    const changed = await api.request("POST", "/User1/change_password", {
      token: access,
      json: { current_password: PASSWORD, new_password: NEW_PASSWORD },
    });
    expect(changed.status).toBe(200);
    const res = await api.request("POST", "/User1/reset_password", {
      json: { token, password: "Yet-Another-Passphrase-55" },
    });
    expect(res.status).toBe(400);
  });

  it("keeps the link usable after a weak-password attempt (422), re-showing the form", async () => {
    const { user } = await activeUser();
    const token = await resetToken("User1", user.email);
    const weak = await api.request("POST", "/User1/reset_password", {
      form: { token, password: "password" },
      headers: { "sec-fetch-site": "same-origin" },
    });
    expect(weak.status).toBe(422);
    expect(weak.text).toContain(`name="token" value="${token}"`);
    expect(weak.headers.get("referrer-policy")).toBe("no-referrer");
    const ok = await api.request("POST", "/User1/reset_password", {
      json: { token, password: NEW_PASSWORD },
    });
    expect(ok.status).toBe(200);
  });
});

describe("one-time purposes are not interchangeable", () => {
  it("refuses a refresh token or an access token as a reset token, and a reset token as a refresh token", async () => {
    const { user, access, refresh } = await activeUser();
    const reset = await resetToken("User1", user.email);
    for (const token of [refresh, access]) {
      const res = await api.request("POST", "/User1/reset_password", {
        json: { token, password: NEW_PASSWORD },
      });
      expect(res.status).toBe(400);
      expect(res.json.code).toBe("invalid_or_expired_token");
    }
    const grant = await api.request("POST", "/User1/token", {
      form: { grant_type: "refresh_token", refresh_token: reset },
    });
    expect(grant.status).toBe(401);
    expect(grant.json.code).toBe("invalid_grant");
    // None of that used anything up.
    expect(
      (await api.request("POST", "/User1/reset_password", { json: { token: reset, password: NEW_PASSWORD } }))
        .status,
    ).toBe(200);
  });

  it("binds a refresh token to its kind", async () => {
    const { refresh } = await activeUser("User1");
    const res = await api.request("POST", "/User2/token", {
      form: { grant_type: "refresh_token", refresh_token: refresh },
    });
    expect(res.status).toBe(401);
    expect(
      (
        await api.request("POST", "/User1/token", {
          form: { grant_type: "refresh_token", refresh_token: refresh },
        })
      ).status,
    ).toBe(200);
  });

  it("answers an unsupported grant_type with 400 unsupported_grant_type", async () => {
    const { refresh } = await activeUser();
    const res = await api.request("POST", "/User1/token", {
      form: { grant_type: "password", refresh_token: refresh },
    });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe("unsupported_grant_type");
  });
});

describe("SMS codes", () => {
  const codeOf = (body: string) => /\b(\d{6})\b/.exec(body)?.[1] as string;

  it("never puts the code or the number in a response, in Redis or in a log line", async () => {
    const { user, access } = await activeUser();
    const sent = await api.request("POST", "/User1/otp_phone", { token: access });
    expect(sent.status).toBe(202);
    const code = codeOf((await app.waitForSms(user.phone)).body);
    const wrong = await api.request("POST", "/User1/verify_otp_phone", {
      token: access,
      json: { otp: "000000" },
    });
    const digits = user.phone.slice(1);
    for (const r of [sent, wrong]) {
      expect(r.text).not.toContain(code);
      expect(r.text).not.toContain(digits);
    }

    const redis = createTestUpstashClient(app.redis);
    const keys = [...(await redis.keys("User1:otp*")), ...(await redis.keys("User1:sms*"))];
    // code record, attempts, cool-down, daily counter; the SMS guard's per-account and per-(number, account) counters
    expect(keys.length).toBeGreaterThanOrEqual(5);
    for (const key of keys) {
      expect(key).not.toContain(digits);
      const value = JSON.stringify(await redis.get(key));
      expect(value).not.toContain(code);
      expect(value).not.toContain(digits);
    }

    const ok = await api.request("POST", "/User1/verify_otp_phone", { token: access, json: { otp: code } });
    expect(ok.status).toBe(200);
    expect(ok.text).not.toContain(code);
    // Not vacuous: the OTP routes' own request lines are in the captured log.
    const lines = logLines.join("");
    expect(lines).toMatch(/"route":"\/User1\/otp_phone"/);
    expect(lines).toMatch(/"route":"\/User1\/verify_otp_phone"/);
    expect(lines).not.toContain(code);
    expect(lines).not.toContain(digits);
  });

  it("a code sent to one user cannot verify another user's phone", async () => {
    const alice = await activeUser();
    const bob = await activeUser();
    expect((await api.request("POST", "/User1/otp_phone", { token: alice.access })).status).toBe(202);
    expect((await api.request("POST", "/User1/otp_phone", { token: bob.access })).status).toBe(202);
    const aliceCode = codeOf((await app.waitForSms(alice.user.phone)).body);
    const bobCode = codeOf((await app.waitForSms(bob.user.phone)).body);
    if (aliceCode !== bobCode) {
      const cross = await api.request("POST", "/User1/verify_otp_phone", {
        token: bob.access,
        json: { otp: aliceCode },
      });
      expect(cross.status).toBe(400);
    }
    const noCode = await activeUser();
    const none = await api.request("POST", "/User1/verify_otp_phone", {
      token: noCode.access,
      json: { otp: aliceCode },
    });
    expect(none.status).toBe(400);
    expect((await api.request("GET", "/User1/", { token: noCode.access })).json.phone_verified).toBe(false);
    expect(
      (
        await api.request("POST", "/User1/verify_otp_phone", {
          token: alice.access,
          json: { otp: aliceCode },
        })
      ).status,
    ).toBe(200);
  });

  it("caps the codes other users send to one number per day (429 otp_daily_limit)", async () => {
    // Numbers on nobody's profile here: the number's owner has its own budget (sms-abuse.security.test.ts).
    const shared = phoneNumber();
    const statuses: number[] = [];
    for (let i = 0; i <= DAILY_LIMIT; i++) {
      const { access } = await activeUser("User2");
      const res = await api.request("POST", "/User2/otp_phone", { token: access, json: { phone: shared } });
      statuses.push(res.status);
      if (i === DAILY_LIMIT) {
        expect(res.json.code).toBe("otp_daily_limit");
        expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      }
    }
    expect(statuses).toEqual([...Array(DAILY_LIMIT).fill(202), 429]);
  });
});

describe("clients cannot inject operators or extra fields", () => {
  it.each([
    ["/User1/forget_password", { email: { $ne: null } }, false],
    ["/User1/reset_password", { token: { $gt: "" }, password: NEW_PASSWORD }, false],
    ["/User1/reset_password", { token: "x".repeat(43), password: { $ne: null } }, false],
    ["/User1/reset_password", { token: "x".repeat(43), password: NEW_PASSWORD, user_id: "usr_x" }, false],
    ["/User1/token", { grant_type: "refresh_token", refresh_token: { $ne: null } }, false],
    ["/User1/change_password", { current_password: { $ne: null }, new_password: NEW_PASSWORD }, true],
    ["/User1/otp_phone", { phone: { $regex: ".*" } }, true],
    ["/User1/verify_otp_phone", { otp: { $gt: "" } }, true],
    ["/User1/verify_otp_phone", { otp: "123456", phone_verified: true }, true],
  ])("POST %s with %j → 422", async (path, json, authenticated) => {
    const token = authenticated ? (await activeUser()).access : undefined;
    const res = await api.request("POST", path, { json, ...(token ? { token } : {}) });
    expect(res.status, res.text).toBe(422);
    expect(res.json.code).toBe("validation_failed");
  });

  it("requires a bearer token on change_password, otp_phone, verify_otp_phone and logout_all", async () => {
    for (const path of ["change_password", "otp_phone", "verify_otp_phone", "logout_all"]) {
      const res = await api.request("POST", `/User1/${path}`, { json: {} });
      expect(res.status, path).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
  });
});
