import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { confirmVerificationLink } from "../fixtures/accounts";
import { startTestApp, type TestApp } from "../fixtures/context";
import { apiClient } from "../helpers/api-client";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";

/**
 * SMS pumping and SMS-cap abuse (issue #14 item 4; security findings F4, F10; DESIGN.md §9): the
 * SMS rules of `shared/accounts/sms-guard.ts` through `POST /{kind}/otp_phone`, in process over real
 * Redis (the Upstash bridge), SQLite and the capturing notifier. Each refusal is checked by its
 * problem code, by the absence of an SMS to the number, and by its count in `/metrics`.
 */
const DAILY_PER_NUMBER = 3;
const SETTINGS = {
  RATE_LIMITS: GENEROUS_RATE_LIMITS,
  OTP_RESEND_COOLDOWN_SECONDS: "1",
  OTP_DAILY_LIMIT: String(DAILY_PER_NUMBER),
  SMS_ACCOUNT_DAILY_LIMIT: "3",
  SMS_NUMBER_ACCOUNT_DAILY_LIMIT: "2",
  SMS_ALLOWED_COUNTRIES: "US,GB,DE",
};

let app: TestApp;
let api: ReturnType<typeof apiClient>;
beforeAll(async () => {
  app = await startTestApp(SETTINGS);
  api = apiClient(app);
});
afterAll(async () => {
  await app?.stop();
});

const PASSWORD = "Tr0ub4dor&3-horse-Battery";
let counter = 0;
let phones = 0;
/** A fresh US number (FIXED_LINE_OR_MOBILE, an allowed country): nobody else's counters touch it. */
const usNumber = () => `+1202555${1000 + phones++}`;

/** Registers, verifies and logs in a User1 account whose profile holds `phone`; returns its access token. */
async function account(on: TestApp = app, phone = usNumber()): Promise<{ access: string; phone: string }> {
  const client = on === app ? api : apiClient(on);
  const user = {
    first_name: "Sam",
    last_name: "Pump",
    email: `sms.${Date.now().toString(36)}.${counter++}@example.com`,
    phone,
    country_code: "US",
    password: PASSWORD,
  };
  expect((await client.request("POST", "/User1/create", { json: user })).status).toBe(201);
  const mail = await on.waitForEmail(user.email, (e) => e.links.some((l) => l.includes("/verify?token=")));
  expect(
    (await confirmVerificationLink(on, mail.links.find((l) => l.includes("/verify?token=")) as string))
      .status,
  ).toBe(200);
  const login = await client.request("POST", "/User1/login", {
    form: { username: user.email, password: PASSWORD },
  });
  expect(login.status).toBe(200);
  return { access: login.json.access_token as string, phone };
}

/** `POST /User1/otp_phone` to `phone` (or, with none, to the profile's number), on `on`. */
function otp(access: string, phone?: string, on: TestApp = app) {
  const client = on === app ? api : apiClient(on);
  return client.request("POST", "/User1/otp_phone", {
    token: access,
    ...(phone === undefined ? {} : { json: { phone } }),
  });
}

/** Like {@link otp}, but waits out this account's one-second cool-down first (retrying while it holds). */
async function otpAfterCooldown(access: string, phone?: string, on: TestApp = app) {
  let res = await otp(access, phone, on);
  for (let i = 0; res.status === 429 && res.json.code === "otp_cooldown" && i < 40; i++) {
    await new Promise((r) => setTimeout(r, 100));
    res = await otp(access, phone, on);
  }
  return res;
}

const smsTo = async (on: TestApp, phone: string) => (await on.notifier.sms()).filter((s) => s.to === phone);

/** `auth_sms_refusals_total` by code for User1, read from `/metrics` with the operator token. */
async function refusalCounts(on: TestApp): Promise<Record<string, number>> {
  const client = on === app ? api : apiClient(on);
  const res = await client.request("GET", "/metrics?window_minutes=60", {
    headers: { authorization: `Bearer ${on.env.OPS_TOKEN}` },
  });
  expect(res.status).toBe(200);
  const counts: Record<string, number> = {};
  for (const m of res.text.matchAll(/^auth_sms_refusals_total\{code="([a-z_]+)",kind="User1"\} (\d+)$/gm))
    counts[m[1] as string] = Number(m[2]);
  return counts;
}

describe("SMS destinations: allowed countries and mobile number types only (F4)", () => {
  it.each([
    ["+881 (Global Mobile Satellite System)", "+881631234567", "sms_country_not_allowed"],
    ["+882 (international networks)", "+8823451234567", "sms_country_not_allowed"],
    [
      "a mobile number of a country not in SMS_ALLOWED_COUNTRIES (Latvia)",
      "+37120012345",
      "sms_country_not_allowed",
    ],
    [
      "a mobile number of a country not in SMS_ALLOWED_COUNTRIES (Lebanon)",
      "+96176123456",
      "sms_country_not_allowed",
    ],
    ["a US premium-rate number", "+19005551234", "sms_number_type_not_allowed"],
    ["a US toll-free number", "+18005551234", "sms_number_type_not_allowed"],
    ["a US personal-number range (+1 500)", "+15005550006", "sms_number_type_not_allowed"],
    ["a UK fixed line", "+442079460000", "sms_number_type_not_allowed"],
  ])("refuses %s with 422 and sends nothing", async (_, phone, code) => {
    const { access } = await account();
    const before = await refusalCounts(app);
    const res = await otp(access, phone);
    expect(res.status, res.text).toBe(422);
    expect(res.json.code).toBe(code);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(await smsTo(app, phone)).toEqual([]);
    expect((await refusalCounts(app))[code]).toBe((before[code] ?? 0) + 1);
    // A refusal spends nothing: the same account may send to its own (allowed) number at once.
    expect((await otp(access)).status).toBe(202);
  });

  it("sends to a mobile number of an allowed country (the check can pass)", async () => {
    const { access } = await account();
    for (const phone of ["+447400123456", "+4915123456789"]) {
      const res = await otpAfterCooldown(access, phone);
      expect(res.status, res.text).toBe(202);
      expect(await smsTo(app, phone)).toHaveLength(1);
    }
  });

  it("refuses a profile number that is not a mobile range when no number is given", async () => {
    const { access } = await account(app, "+442071838750"); // a London fixed line on the profile
    const res = await otp(access);
    expect(res.status).toBe(422);
    expect(res.json.code).toBe("sms_number_type_not_allowed");
    expect(await smsTo(app, "+442071838750")).toEqual([]);
  });
});

describe("SMS budgets per account and per (number, account)", () => {
  it("caps one account's sends to one number, then its sends per day over all numbers", async () => {
    const { access, phone: own } = await account();
    const target = usNumber();
    const other = usNumber();
    const before = await refusalCounts(app);
    expect((await otpAfterCooldown(access, target)).status).toBe(202);
    expect((await otpAfterCooldown(access, target)).status).toBe(202);
    const third = await otpAfterCooldown(access, target);
    expect(third.status).toBe(429);
    expect(third.json.code).toBe("sms_number_account_daily_limit");
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(3600);
    expect(await smsTo(app, target)).toHaveLength(2);

    expect((await otpAfterCooldown(access, other)).status).toBe(202); // third SMS of the account
    const fourth = await otpAfterCooldown(access); // its own number: still the account's daily cap
    expect(fourth.status).toBe(429);
    expect(fourth.json.code).toBe("sms_account_daily_limit");
    expect(Number(fourth.headers.get("retry-after"))).toBeGreaterThan(3600);
    expect(await smsTo(app, own)).toEqual([]);

    const after = await refusalCounts(app);
    expect(after.sms_number_account_daily_limit).toBe((before.sms_number_account_daily_limit ?? 0) + 1);
    expect(after.sms_account_daily_limit).toBe((before.sms_account_daily_limit ?? 0) + 1);
  });
});

describe("other accounts cannot exhaust a victim's number (F10)", () => {
  it("after other accounts spend the number's daily cap, its owner still gets a code", async () => {
    const victim = await account();
    const others = await Promise.all(Array.from({ length: DAILY_PER_NUMBER + 1 }, () => account()));
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof otp>> | undefined;
    for (const other of others) {
      last = await otp(other.access, victim.phone);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([...Array(DAILY_PER_NUMBER).fill(202), 429]);
    expect(last?.json.code).toBe("otp_daily_limit");
    expect(await smsTo(app, victim.phone)).toHaveLength(DAILY_PER_NUMBER);

    // The owner, by its profile's number (no body) and by naming it, within its own budget.
    const own = await otp(victim.access);
    expect(own.status, own.text).toBe(202);
    const named = await otpAfterCooldown(victim.access, victim.phone);
    expect(named.status, named.text).toBe(202);
    expect(await smsTo(app, victim.phone)).toHaveLength(DAILY_PER_NUMBER + 2);
  });
});

describe("the service-wide hourly SMS budget", () => {
  let budgeted: TestApp;
  beforeAll(async () => {
    // Its own Redis: the budget counts every kind and every account of a deployment.
    budgeted = await startTestApp({ ...SETTINGS, SMS_HOURLY_BUDGET: "2" });
  });
  afterAll(async () => {
    await budgeted?.stop();
  });

  it("refuses every further SMS with 503 sms_budget_exhausted once spent, whoever asks", async () => {
    const accounts = await Promise.all([account(budgeted), account(budgeted), account(budgeted)]);
    expect((await otp(accounts[0]?.access as string, undefined, budgeted)).status).toBe(202);
    expect((await otp(accounts[1]?.access as string, undefined, budgeted)).status).toBe(202);
    const refused = await otp(accounts[2]?.access as string, undefined, budgeted);
    expect(refused.status).toBe(503);
    expect(refused.json.code).toBe("sms_budget_exhausted");
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(await smsTo(budgeted, accounts[2]?.phone as string)).toEqual([]);
    expect((await refusalCounts(budgeted)).sms_budget_exhausted).toBe(1);
  });
});
