import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newUser, PASSWORD } from "../fixtures/accounts";
import { launchBrowser } from "../helpers/browser";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { apiClient, startTestServer, type TestServer } from "../helpers/local-server";

/**
 * The emailed verification link in a real Chromium against the local server (issue #14 item 7,
 * finding F12): opening the link shows a confirmation page and verifies nothing; pressing its button
 * POSTs the token from the page (same origin: `Origin: null` under `Referrer-Policy: no-referrer`,
 * accepted through `Sec-Fetch-Site: same-origin`) and verifies. What the browser really sends can
 * only be seen over a socket.
 */
let server: TestServer;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  server = await startTestServer({ RATE_LIMITS: GENEROUS_RATE_LIMITS });
  api = apiClient(server.url);
});
afterAll(async () => {
  await server?.stop();
});

const loginStatus = async (email: string) =>
  (await api.request("POST", "/User1/login", { form: { username: email, password: PASSWORD } })).status;

describe("the verification link in a real browser", () => {
  it("opens a confirmation page that verifies nothing; its button verifies, loading nothing else", async () => {
    const user = newUser();
    expect((await api.request("POST", "/User1/create", { json: user })).status).toBe(201);
    const mail = await server.waitForEmail(user.email, (e) =>
      e.links.some((l) => l.includes("/User1/verify?token=")),
    );
    const link = mail.links.find((l) => l.includes("/User1/verify?token=")) as string;

    const session = await launchBrowser();
    try {
      const observed = await session.newPage(server.url);
      const { page } = observed;
      // Origin is null (no-referrer); the server accepts the post on its Sec-Fetch-Site: same-origin,
      // which the interception layer does not report, so the verified page is what shows it.
      const posts: Promise<{ url: string; origin?: string; body: string }>[] = [];
      page.on("request", (req) => {
        if (req.method() === "POST")
          posts.push(
            req.allHeaders().then((h) => ({
              url: req.url(),
              origin: h.origin,
              body: req.postData() ?? "",
            })),
          );
      });
      const opened = await page.goto(link);
      expect(opened?.status()).toBe(200);
      expect(await page.textContent("h1")).toBe("Confirm your email address");
      // Opening the link (what a mail scanner does) left the address unverified.
      expect(await loginStatus(user.email)).toBe(403);
      await session.screenshot(page, "verify-confirmation");

      await Promise.all([
        page.waitForNavigation(),
        page.getByRole("button", { name: "Verify my email address" }).click(),
      ]);
      expect(await page.textContent("h1"), (await page.textContent("body")) ?? "").toBe("Email verified");
      expect(await Promise.all(posts)).toEqual([
        {
          url: `${server.url}/User1/verify`,
          origin: "null",
          body: `token=${new URL(link).searchParams.get("token")}`,
        },
      ]);
      expect(observed.blocked).toEqual([]);
      expect(await observed.cspViolations()).toEqual([]);
      expect(observed.pageErrors).toEqual([]);

      // The button again (back, resubmit): the link is used up.
      await page.goBack();
      await Promise.all([
        page.waitForNavigation(),
        page.getByRole("button", { name: "Verify my email address" }).click(),
      ]);
      expect(await page.textContent("h1")).toBe("Verification failed");
    } finally {
      await session.close();
    }
    expect(await loginStatus(user.email)).toBe(200);
  }, 60_000);
});
