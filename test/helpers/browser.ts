import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/**
 * Browser tests drive the machine's Chromium (Debian's `chromium` package; CI installs it in
 * `.ci/run`) with playwright-core, which ships no browser of its own. No Chromium is a test
 * failure with instructions, never a silent skip.
 */

/** Where Chromium is: `CHROMIUM_PATH`, else `chromium` / `chromium-browser` on PATH. */
export function findChromium(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`);
    return fromEnv;
  }
  for (const name of ["chromium", "chromium-browser"]) {
    try {
      const path = execFileSync("which", [name], { encoding: "utf8" }).trim();
      if (path) return path;
    } catch {
      // not on PATH: try the next name
    }
  }
  throw new Error(
    "Chromium is not installed, so the browser tests cannot run. Install it with " +
      "`apt-get install -y chromium` (as .ci/run does) or set CHROMIUM_PATH to a Chromium binary.",
  );
}

/** One browser for a test file, with what the tests check on every page. */
export interface BrowserSession {
  browser: Browser;
  /**
   * A fresh context and page where every request to an origin other than `allowedOrigin` is
   * aborted and recorded in `blocked` (so a page that needs a CDN fails visibly), and CSP
   * violations, console errors and uncaught exceptions are collected.
   */
  newPage(allowedOrigin: string): Promise<ObservedPage>;
  /** Directory for screenshots (removed by `close` unless `KEEP_SCREENSHOTS` is set). */
  screenshotDir: string;
  /** Saves a full-page screenshot and returns its path. */
  screenshot(page: Page, name: string): Promise<{ path: string; bytes: number }>;
  close(): Promise<void>;
}

/** A page with what it did that a test may want to refuse. */
export interface ObservedPage {
  page: Page;
  context: BrowserContext;
  /** URLs of requests to other origins (all aborted). */
  blocked: string[];
  /** Uncaught page errors (messages). */
  pageErrors: string[];
  /** Console messages of type `error`. */
  consoleErrors: string[];
  /** CSP violations reported to the page (`directive blocked-uri`). */
  cspViolations(): Promise<string[]>;
}

/**
 * Launches headless Chromium with background networking, component updates, sync and first-run
 * UI turned off (they would reach the network or slow the start).
 * @throws Error with install instructions when Chromium is missing.
 */
export async function launchBrowser(): Promise<BrowserSession> {
  const executablePath = findChromium();
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-dev-shm-usage",
    ],
  });
  const screenshotDir = mkdtempSync(join(tmpdir(), "browser-shots-"));
  return {
    browser,
    screenshotDir,
    async newPage(allowedOrigin) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const blocked: string[] = [];
      await context.route("**/*", (route) => {
        const url = route.request().url();
        if (url.startsWith("data:") || url.startsWith("blob:") || new URL(url).origin === allowedOrigin) {
          return route.continue();
        }
        blocked.push(url);
        return route.abort("blockedbyclient");
      });
      await context.addInitScript(() => {
        const store: string[] = [];
        (globalThis as unknown as { __cspViolations: string[] }).__cspViolations = store;
        document.addEventListener("securitypolicyviolation", (e) => {
          store.push(`${e.effectiveDirective} ${e.blockedURI}`);
        });
      });
      const page = await context.newPage();
      // Generous: a loaded 2-core CI machine parses the multi-megabyte UI bundles slowly.
      page.setDefaultTimeout(60_000);
      const pageErrors: string[] = [];
      const consoleErrors: string[] = [];
      page.on("pageerror", (err) => pageErrors.push(err.message));
      page.on("console", (msg) => {
        if (msg.type() === "error") consoleErrors.push(msg.text());
      });
      return {
        page,
        context,
        blocked,
        pageErrors,
        consoleErrors,
        cspViolations: () =>
          page.evaluate(() => [...(globalThis as unknown as { __cspViolations: string[] }).__cspViolations]),
      };
    },
    async screenshot(page, name) {
      const path = join(screenshotDir, `${name}.png`);
      await page.screenshot({ path, fullPage: false });
      return { path, bytes: statSync(path).size };
    },
    async close() {
      await browser.close();
      if (!process.env.KEEP_SCREENSHOTS) rmSync(screenshotDir, { recursive: true, force: true });
    },
  };
}
