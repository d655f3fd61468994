import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { confirmVerificationLink, newUser, PASSWORD } from "../fixtures/accounts";
import { startTestApp, type TestApp } from "../fixtures/context";
import { apiClient, send } from "../helpers/api-client";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";

/**
 * Verification links survive link scanners (issue #14 item 7, finding F12; DESIGN.md §9 "Emailed
 * links are never consumed by GET or HEAD"): mail gateways and scanners fetch links with HEAD and
 * GET, so only a POST of the token verifies. In process over real Redis (Upstash bridge) and SQLite;
 * "unverified" is checked the way it matters, by a login answering `403 email_not_verified`. The
 * page's button in a real browser: `test/browser/verify-link.browser.test.ts`.
 */
let app: TestApp;
let api: ReturnType<typeof apiClient>;
beforeAll(async () => {
  app = await startTestApp({ RATE_LIMITS: GENEROUS_RATE_LIMITS });
  api = apiClient(app);
});
afterAll(async () => {
  await app?.stop();
});

/** Registers a fresh User1 account and returns its email and the mailed verification link. */
async function registered(): Promise<{ email: string; link: string; token: string }> {
  const user = newUser();
  expect((await api.request("POST", "/User1/create", { json: user })).status).toBe(201);
  const mail = await app.waitForEmail(user.email, (e) =>
    e.links.some((l) => l.includes("/User1/verify?token=")),
  );
  const link = mail.links.find((l) => l.includes("/User1/verify?token=")) as string;
  return { email: user.email, link, token: new URL(link).searchParams.get("token") as string };
}

const loginCode = async (email: string) => {
  const res = await api.request("POST", "/User1/login", { form: { username: email, password: PASSWORD } });
  return res.status === 200 ? "ok" : (res.json.code as string);
};

/** `auth_events_total` of the verify_email action for User1, by outcome, from `/metrics`. */
async function verifyEvents(): Promise<{ success: number; failure: number }> {
  const res = await api.request("GET", "/metrics?window_minutes=60", {
    headers: { authorization: `Bearer ${app.env.OPS_TOKEN}` },
  });
  expect(res.status).toBe(200);
  const count = (outcome: string) =>
    Number(
      new RegExp(`^auth_events_total\\{event="verify_email_${outcome}",kind="User1"\\} (\\d+)$`, "m").exec(
        res.text,
      )?.[1] ?? 0,
    );
  return { success: count("success"), failure: count("failure") };
}

describe("opening the link verifies nothing (F12)", () => {
  it("HEAD on a verification link leaves the address unverified, and the link still works", async () => {
    const { email, link } = await registered();
    const head = await send(app, link, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await loginCode(email)).toBe("email_not_verified");
    expect((await confirmVerificationLink(app, link)).status).toBe(200);
    expect(await loginCode(email)).toBe("ok");
  });

  it("GET, however often and whatever it accepts, leaves the address unverified and is not audited", async () => {
    const { email, link, token } = await registered();
    const before = await verifyEvents();
    for (const accept of ["text/html", "*/*", "application/xhtml+xml"]) {
      const page = await send(app, link, { headers: { accept } });
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    }
    const asJson = await api.request("GET", new URL(link).pathname + new URL(link).search, {
      headers: { accept: "application/json" },
    });
    expect(asJson.status).toBe(406);
    expect(asJson.json.code).toBe("not_acceptable");
    expect(await loginCode(email)).toBe("email_not_verified");
    expect(await verifyEvents()).toEqual(before);

    const verified = await api.request("POST", "/User1/verify", { json: { token } });
    expect(verified.status).toBe(200);
    expect(verified.json).toEqual({ message: "Email verified successfully" });
    expect(await verifyEvents()).toEqual({ ...before, success: before.success + 1 });
    expect(await loginCode(email)).toBe("ok");
  });

  it("renders a confirmation page whose one form POSTs the token to APP_URL, under the pages' CSP", async () => {
    const { token, link } = await registered();
    const page = await send(app, link);
    const html = await page.text();
    expect(html).toContain("<h1>Confirm your email address</h1>");
    const forms = [...html.matchAll(/<form method="post" action="([^"]*)">/g)].map((m) => m[1]);
    expect(forms).toEqual([`${app.env.APP_URL}/User1/verify`]);
    expect(html).toContain(`<input type="hidden" name="token" value="${token}">`);
    expect(page.headers.get("content-security-policy")).toContain("form-action 'self'");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(page.headers.get("cache-control")).toBe("no-store");
  });

  it("answers a malformed link with a 400 page, and a used or unknown token with 400 on POST", async () => {
    const malformed = await send(app, "/User1/verify?token=short");
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toContain("This verification link is invalid or has expired");
    const unknown = await api.request("POST", "/User1/verify", { json: { token: "A".repeat(43) } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.code).toBe("invalid_or_expired_token");
  });
});

describe("the confirmation form cannot be posted cross-site", () => {
  const form = (token: string, headers: Record<string, string>) =>
    api.request("POST", "/User1/verify", { form: { token }, headers });

  it.each([
    ["Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site", origin: "https://evil.example" }],
    ["Sec-Fetch-Site: same-site", { "sec-fetch-site": "same-site" }],
    ["a foreign Origin", { origin: "https://evil.example" }],
    ["neither Origin nor Sec-Fetch-Site", {}],
  ])(
    "refuses a form post with %s (403 cross_site_request) and leaves the link usable",
    async (_, headers) => {
      const { email, token } = await registered();
      const refused = await form(token, headers);
      expect(refused.status).toBe(403);
      expect(refused.json.code).toBe("cross_site_request");
      expect(await loginCode(email)).toBe("email_not_verified");
      const ok = await form(token, { "sec-fetch-site": "same-origin" });
      expect(ok.status).toBe(200);
      expect(ok.headers.get("content-type")).toMatch(/^text\/html/);
      expect(ok.text).toContain("<h1>Email verified</h1>");
      expect(await loginCode(email)).toBe("ok");
    },
  );
});
