import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { login, newUser, signUpVerified } from "../fixtures/accounts";
import { launchBrowser } from "../helpers/browser";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { apiClient, startTestServer, type TestServer } from "../helpers/local-server";

/**
 * The password-reset form in a real Chromium against the local server (moved here from
 * `test/security/recovery.security.test.ts`, whose other specs run in process): what the browser
 * really sends under `Referrer-Policy: no-referrer` can only be seen over a socket.
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

const NEW_PASSWORD = "Correct-Staple-Orbit-7319";

/** Requests a reset for `email` and returns the mailed token (the newest reset mail to it). */
async function resetToken(kind: string, email: string) {
  expect((await api.request("POST", `/${kind}/forget_password`, { json: { email } })).status).toBe(200);
  const mail = await server.waitForEmail(email, (e) =>
    e.links.some((l) => l.includes("reset_password_form")),
  );
  const link = mail.links.find((l) => l.includes("reset_password_form")) as string;
  return new URL(link).searchParams.get("token") as string;
}

describe("the reset form in a real browser", () => {
  it("posts from the page although the browser sends Origin: null under Referrer-Policy: no-referrer, loading nothing else", async () => {
    const user = await signUpVerified(server, "User1", newUser());
    await login(server, "User1", user);
    const session = await launchBrowser();
    try {
      const observed = await session.newPage(server.url);
      const { page } = observed;
      const origins: (string | undefined)[] = [];
      page.on("request", (req) => {
        if (req.method() === "POST") origins.push(req.headers().origin);
      });
      const token = await resetToken("User1", user.email);
      await page.goto(`${server.url}/User1/reset_password_form?token=${token}`);
      await page.fill("#password", NEW_PASSWORD);
      await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
      expect(await page.textContent("h1"), (await page.textContent("body")) ?? "").toBe("Password changed");
      expect(origins).toEqual(["null"]);
      expect(observed.blocked).toEqual([]);
      expect(await observed.cspViolations()).toEqual([]);
      expect(observed.pageErrors).toEqual([]);
    } finally {
      await session.close();
    }
    const res = await api.request("POST", "/User1/login", {
      form: { username: user.email, password: NEW_PASSWORD },
    });
    expect(res.status).toBe(200);
  });
});
