import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrowserSession, launchBrowser, type ObservedPage } from "../helpers/browser";
import { startTestServer, type TestServer } from "../helpers/local-server";

/**
 * The three documentation UIs, in a real Chromium against the local runtime: each page renders the
 * API's operations from `/openapi.json` using only the docs function's own assets (every request to
 * another origin is aborted and recorded) and runs under its CSP without a single violation.
 */
/**
 * The UIs parse megabytes of JavaScript; on a loaded 2-core machine (the full suite runs beside
 * them) Scalar alone can take tens of seconds to render, so these tests get generous time.
 */
const UI_TIMEOUT_MS = 60_000;
const TEST_TIMEOUT_MS = 120_000;

let server: TestServer;
let session: BrowserSession;
let operations: { method: string; path: string }[];

beforeAll(async () => {
  server = await startTestServer();
  session = await launchBrowser();
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  operations = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item).map((method) => ({ method, path })),
  );
});
afterAll(async () => {
  await session?.close();
  await server?.stop();
});

/** Loads a docs page and waits until `text` is visible. */
async function open(path: string, text: string): Promise<ObservedPage> {
  const observed = await session.newPage(server.url);
  const response = await observed.page.goto(`${server.url}${path}`);
  expect(response?.status()).toBe(200);
  await observed.page
    .getByText(text, { exact: true })
    .first()
    .waitFor({ state: "visible", timeout: UI_TIMEOUT_MS });
  return observed;
}

/**
 * CSP reports a page is known to trigger, and why they are harmless (the CSP stays as strict):
 * - Scalar: its bundled zod probes `new Function("")` once to decide whether to compile
 *   validators; refused, it validates without code generation. So no `'unsafe-eval'`.
 * - ReDoc: its sidebar footer always renders the "API docs by Redocly" logo from cdn.redoc.ly;
 *   refused, the image hides itself. So the page never contacts that host.
 */
const EXPECTED_CSP_REPORTS: Record<string, string[]> = {
  "/docs": [],
  "/scalar": ["script-src eval"],
  "/redoc": ["img-src https://cdn.redoc.ly/redoc/logo-mini.svg"],
};

/** What every docs page must not do: reach another origin, violate its CSP beyond the known reports, or throw. */
async function expectOfflineAndClean(path: string, observed: ObservedPage): Promise<void> {
  expect(observed.blocked, "requests to other origins").toEqual([]);
  expect([...new Set(await observed.cspViolations())], "CSP violations").toEqual(EXPECTED_CSP_REPORTS[path]);
  expect(observed.pageErrors, "uncaught page errors").toEqual([]);
}

describe("API documentation pages", () => {
  it(
    "Swagger UI at /docs lists every operation of the document, offline, within its CSP",
    async () => {
      const observed = await open("/docs", "/User1/login");
      const { page } = observed;
      expect(await page.locator(".opblock").count()).toBe(operations.length);
      for (const path of ["/User1/login", "/User2/create", "/health"]) {
        await page.locator(`.opblock-summary-path[data-path="${path}"]`).first().waitFor();
      }
      // "Try it out" calls the API from the page: proves connect-src allows it and the server entry is right.
      const health = page.locator("#operations-Operations-getHealth");
      await health.locator(".opblock-summary").click();
      await health.getByRole("button", { name: "Try it out" }).click();
      await health.getByRole("button", { name: "Execute" }).click();
      await health
        .locator(".live-responses-table .response-col_status", { hasText: "200" })
        .first()
        .waitFor();
      expect(await health.locator(".live-responses-table .microlight").first().textContent()).toContain(
        '"healthy"',
      );
      const shot = await session.screenshot(page, "swagger-ui");
      expect(shot.bytes).toBeGreaterThan(20_000);
      await expectOfflineAndClean("/docs", observed);
      await observed.context.close();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "Scalar at /scalar renders the operations from the document, offline, within its CSP",
    async () => {
      const observed = await open("/scalar", "/User1/login");
      for (const summary of ["Register a User1 account", "Read your own profile", "User2", "Operations"]) {
        await observed.page.getByText(summary, { exact: true }).first().waitFor({ state: "visible" });
      }
      const shot = await session.screenshot(observed.page, "scalar");
      expect(shot.bytes).toBeGreaterThan(20_000);
      await expectOfflineAndClean("/scalar", observed);
      await observed.context.close();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "ReDoc at /redoc renders the operations from the document, offline, within its CSP",
    async () => {
      const observed = await open("/redoc", "/User1/login");
      // ReDoc renders every operation into the page: each one's path appears in its endpoint box.
      for (const { path } of operations) {
        expect(await observed.page.getByText(path, { exact: true }).count(), path).toBeGreaterThan(0);
      }
      const shot = await session.screenshot(observed.page, "redoc");
      expect(shot.bytes).toBeGreaterThan(20_000);
      await expectOfflineAndClean("/redoc", observed);
      await observed.context.close();
    },
    TEST_TIMEOUT_MS,
  );
});
