import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildManifest, LAMBDA_NODEJS_BUILD } from "../../infra/functions";
import { type RedisServerHandle, startRedisServer } from "../../infra/local/redis-server";
import { startUpstashBridge, type UpstashBridge } from "../../infra/local/upstash-bridge";
import {
  buildFunctionBundle,
  bundledFunctionEnv,
  bundleEntry,
  runBundledRequest,
  writeBundleRunner,
} from "../helpers/bundled-functions";

/**
 * Every manifest function as it is deployed: built with SST's settings and this project's `nodejs`
 * props (split, minified), imported in a fresh Node process and sent its first route (JSON `{}`
 * body for methods other than GET, no credentials) against a real redis-server behind the Upstash
 * REST bridge, SQLite as the user store. None may answer a 5xx: every such request is refused for a
 * missing token, a bad body or an unknown path, or served. The other suites run the sources under
 * tsx; this one catches what breaks only once bundled (e.g. a dynamic import of a CommonJS package,
 * which an esbuild chunk exposes as `default` only: every rate-limit check then failed closed, 503).
 */
const root = join(import.meta.dirname, "../..");
const manifest = await buildManifest(["User1", "User2"]);
// Inside the repository (ignored `.sst/`), so a bundle resolves its external (native) packages
// from node_modules, as on Lambda from the ones SST installs beside it.
mkdirSync(join(root, ".sst"), { recursive: true });
const work = mkdtempSync(join(root, ".sst/bundled-functions-"));
let redis: RedisServerHandle;
let bridge: UpstashBridge;
let env: NodeJS.ProcessEnv;
let runner: string;
const entries = new Map<string, string>();

beforeAll(async () => {
  redis = await startRedisServer({ persist: false });
  bridge = await startUpstashBridge({ redisUrl: redis.url, token: randomBytes(24).toString("base64url") });
  env = bundledFunctionEnv({ upstash: bridge, dataDir: join(work, "data") });
  runner = writeBundleRunner(work);
  // The docs and `$default` functions carry the files `npm run openapi` writes before a deploy.
  execFileSync(
    process.execPath,
    ["--import", "tsx", "infra/write-openapi.ts", join(work, ".build/openapi.json")],
    {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: "silent", APP_URL: "https://bench.example.test" },
      stdio: "ignore",
    },
  );
  for (const fn of manifest) {
    const built = await buildFunctionBundle(
      fn,
      join(work, fn.name),
      LAMBDA_NODEJS_BUILD,
      fn.nodeInstall,
      (from) => (from.startsWith(".build/") ? join(work, from) : join(root, from)),
    );
    entries.set(fn.name, bundleEntry(built));
  }
}, 300_000);

afterAll(async () => {
  await bridge?.close();
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("every function, bundled as deployed, answers its first route without a 5xx", () => {
  it.each(manifest.map((fn) => [fn.name, fn] as const))("%s", async (name, fn) => {
    const route = fn.routes[0] ?? { method: "GET" as const, path: "/no-such-route" };
    const entry = entries.get(name);
    expect(entry).toBeDefined();
    if (!entry) return;
    const run = await runBundledRequest(runner, env, entry, route.method, route.path);
    expect(run.status, `${route.method} ${route.path}`).toBeLessThan(500);
  });
});
