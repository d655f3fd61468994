import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrowserSession, launchBrowser } from "../helpers/browser";
import { apiClient, startTestServer, type TestServer } from "../helpers/local-server";

/**
 * The developer's path through email verification, in a real Chromium: register through the API,
 * open the dev outbox (`/_dev/outbox`), click the verification link of the captured email, and land
 * on the "Email verified" page; the account can then log in.
 */
let server: TestServer;
let session: BrowserSession;

beforeAll(async () => {
  server = await startTestServer();
  session = await launchBrowser();
});
afterAll(async () => {
  await session?.close();
  await server?.stop();
});

const PASSWORD = "Tr0ub4dor&3-horse-Battery";

describe("dev outbox in a browser", () => {
  it("shows the verification email, and clicking its link verifies the account", async () => {
    const email = "grace.browser@example.com";
    const api = apiClient(server.url);
    const created = await api.request("POST", "/User1/create", {
      json: {
        first_name: "Grace",
        last_name: "Hopper",
        email,
        phone: "+14155552671",
        country_code: "US",
        password: PASSWORD,
      },
    });
    expect(created.status, created.text).toBe(201);
    const mail = await server.waitForEmail(email, (e) =>
      e.links.some((l) => l.includes("/User1/verify?token=")),
    );

    const { page, context, blocked, pageErrors } = await session.newPage(server.url);
    expect((await page.goto(`${server.url}/_dev/outbox`))?.status()).toBe(200);
    const article = page.locator(`article.email[data-email-id="${mail.id}"]`);
    await expect(article.locator(".to").textContent()).resolves.toBe(email);
    const links = article.locator('a.email-link[href*="/User1/verify?token="]');
    expect(await links.count()).toBeGreaterThan(0);
    const hrefs = new Set(await links.evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href)));
    expect([...hrefs], "one verification link, however often the email shows it").toHaveLength(1);
    const link = links.first();
    await session.screenshot(page, "outbox");

    await Promise.all([page.waitForURL(/\/User1\/verify\?token=/), link.click()]);
    // The link opens a confirmation page; its button verifies (test/browser/verify-link.browser.test.ts).
    await Promise.all([
      page.waitForNavigation(),
      page.getByRole("button", { name: "Verify my email address" }).click(),
    ]);
    await page.getByRole("heading", { name: "Email verified" }).waitFor({ state: "visible" });
    expect(await page.locator("main p").textContent()).toMatch(/You can now log in/);
    const shot = await session.screenshot(page, "email-verified");
    expect(shot.bytes).toBeGreaterThan(5_000);
    expect(blocked).toEqual([]);
    expect(pageErrors).toEqual([]);
    await context.close();

    const login = await api.request("POST", "/User1/login", {
      form: { username: email, password: PASSWORD },
    });
    expect(login.status, login.text).toBe(200);
  }, 60_000);
});
