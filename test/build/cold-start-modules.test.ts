import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { login, newUser, signUpVerified } from "../fixtures/accounts";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { startTestServer, type TestServer } from "../helpers/local-server";

/**
 * What a token-only function loads on a cold start: a fresh Node process imports the profile
 * function and makes its first authenticated request (cache miss: store read) against the real
 * local stand-ins, while a loader hook records every module resolved. The password hasher (native
 * or WASM), zxcvbn's dictionaries, the QStash client, the phone parser's metadata and
 * `@upstash/ratelimit` (an authenticated read counts its limits in the session check's script) are
 * for other paths and must not load.
 */
const run = promisify(execFile);
const root = join(import.meta.dirname, "../..");
const FORBIDDEN = [
  /@node-rs\/argon2/,
  /\/hash-wasm\//,
  /@zxcvbn-ts/,
  /@upstash\/qstash/,
  /libphonenumber-js/,
  /@upstash\/ratelimit/,
];

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ RATE_LIMITS: GENEROUS_RATE_LIMITS });
});
afterAll(async () => {
  await server?.stop();
});

async function coldStart(modulePath: string, requestPath: string, init: RequestInit) {
  const { stdout } = await run(
    process.execPath,
    [
      "--import",
      "tsx",
      join(root, "test/build/fixtures/record-modules.ts"),
      modulePath,
      requestPath,
      JSON.stringify(init),
    ],
    { cwd: root, env: { ...process.env, LOG_LEVEL: "silent" }, timeout: 60_000 },
  );
  const line = stdout.trim().split("\n").at(-1) ?? "{}";
  return JSON.parse(line) as { status: number; modules: string[] };
}

describe("cold start of the profile function", () => {
  it("imports and serves a first authenticated read without the hasher, zxcvbn, the QStash client, the phone parser or the rate-limit library", async () => {
    const user = await signUpVerified(server, "User1", newUser());
    const tokens = await login(server, "User1", user);
    const { status, modules } = await coldStart("functions/profile", "/User1/", {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(status).toBe(200);
    // The recorder works: it saw the function, its Redis client and its store driver.
    expect(modules.some((m) => m.endsWith("/functions/profile.ts"))).toBe(true);
    expect(modules.some((m) => m.includes("@upstash/redis"))).toBe(true);
    expect(modules.some((m) => m.includes("sqlite-user-store"))).toBe(true);
    for (const pattern of FORBIDDEN)
      expect(
        modules.filter((m) => pattern.test(m)),
        String(pattern),
      ).toEqual([]);
  });

  it("sees the hasher where it is used: a login's cold start loads it (the check can fail)", async () => {
    const user = await signUpVerified(server, "User1", newUser());
    const { status, modules } = await coldStart("functions/login", "/User1/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ username: user.email, password: user.password }).toString(),
    });
    expect(status).toBe(200);
    expect(modules.some((m) => /@node-rs\/argon2|\/hash-wasm\//.test(m))).toBe(true);
  });
});
