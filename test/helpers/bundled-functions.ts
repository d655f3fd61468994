import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { type BuildResult, build } from "esbuild-sst";
import { type FunctionSpec, LAMBDA_NODE_RUNTIME } from "../../infra/functions";
import { sstFunctionBuildOptions } from "../build/sst-esbuild";
import { GENEROUS_RATE_LIMITS, testEnv } from "./env";

/**
 * Deployed function bundles run in fresh Node processes, as Lambda runs them: built with SST's own
 * esbuild settings (`test/build/sst-esbuild.ts`) and laid out as Lambda sees them (the function's
 * `copyFiles` beside the bundle, the bundle's directory as working directory). Shared by the
 * cold-start bench and the bundled-functions test.
 */

const root = join(import.meta.dirname, "../..");

/** `nodejs` build props of a bundle: code splitting and minification (SST: both off when absent). */
export interface BundleBuild {
  splitting: boolean;
  minify: boolean;
}

/**
 * Builds one function into `outdir` exactly as SST does (no sourcemap: it changes neither module
 * resolution nor code), and copies its `copyFiles` there.
 * @param install the packages left out of the bundle (SST: `nodejs.install`); by default the
 *   function's own `nodeInstall`.
 * @param sourceOf where a `copyFiles` source is read: in the repository by default; a test that
 *   generated its own `.build/` files elsewhere points those there.
 * @throws the esbuild failure when SST's build would fail.
 */
export async function buildFunctionBundle(
  fn: Pick<FunctionSpec, "module" | "nodeInstall" | "copyFiles">,
  outdir: string,
  nodejs: BundleBuild,
  install: readonly string[] = fn.nodeInstall ?? [],
  sourceOf: (from: string) => string = (from) => join(root, from),
): Promise<BuildResult<{ metafile: true }>> {
  const result = await build({
    ...sstFunctionBuildOptions(fn, {
      root,
      outdir,
      runtime: LAMBDA_NODE_RUNTIME,
      nodejs: { install, ...nodejs },
    }),
    absWorkingDir: root,
    sourcemap: false,
    write: true,
    metafile: true,
  });
  for (const file of fn.copyFiles ?? []) {
    const to = join(outdir, file.to);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(sourceOf(file.from), to);
  }
  return result;
}

/** The bundle's entry file (`bundle.mjs`, SST's `entryNames`), absolute. */
export function bundleEntry(result: BuildResult<{ metafile: true }>): string {
  const outputs = Object.keys(result.metafile.outputs).filter((f) => f.endsWith(".mjs"));
  const entry =
    outputs.find((f) => f.endsWith("/bundle.mjs")) ??
    outputs.find((f) => result.metafile.outputs[f]?.entryPoint) ??
    "";
  return join(root, entry);
}

/** What one fresh process measured: import time, first request time (ms) and its status. */
export interface BundleRun {
  importMs: number;
  requestMs: number;
  status: number;
}

/**
 * Writes the child-process script into `dir`: it imports a bundle, sends one request through its
 * `app` (JSON `{}` body for methods other than GET, no credentials) and prints a {@link BundleRun}.
 * @returns the script's path.
 */
export function writeBundleRunner(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const runner = join(dir, "run.mjs");
  writeFileSync(
    runner,
    `const [bundle, method, path] = process.argv.slice(2);
const t0 = performance.now();
const mod = await import(bundle);
const t1 = performance.now();
const body = method === "GET" ? undefined : "{}";
const headers = body ? { "content-type": "application/json" } : {};
const res = await mod.app.fetch(new Request("https://bench.example.test" + path, { method, headers, body }));
await res.arrayBuffer();
const t2 = performance.now();
process.stdout.write(JSON.stringify({ importMs: t1 - t0, requestMs: t2 - t1, status: res.status }));
process.exit(0);
`,
  );
  return runner;
}

/**
 * One fresh process running `runner` on the bundle `entry`, in the bundle's directory (as on
 * Lambda: the docs function reads its copied `openapi.json`). Asynchronous on purpose: the Upstash
 * bridge the child talks to may run in this process, and a synchronous spawn would block it.
 * @throws Error with the child's stderr when it fails.
 */
export function runBundledRequest(
  runner: string,
  env: NodeJS.ProcessEnv,
  entry: string,
  method: string,
  path: string,
  nodeArgs: readonly string[] = [],
): Promise<BundleRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...nodeArgs, runner, entry, method, path],
      { env, cwd: dirname(entry) },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${relative(root, entry)} ${method} ${path}: ${stderr.slice(0, 800)}`));
        else resolve(JSON.parse(stdout) as BundleRun);
      },
    );
  });
}

/**
 * The environment of a bundled function: the test configuration, Upstash through the given bridge,
 * SQLite under `dataDir`, generous rate limits, and QStash, Resend and Twilio pointed at a closed
 * port (a first request of these runs never reaches them).
 */
export function bundledFunctionEnv(options: {
  upstash: { url: string; token: string };
  dataDir: string;
}): NodeJS.ProcessEnv {
  mkdirSync(options.dataDir, { recursive: true });
  return {
    ...process.env,
    ...testEnv({
      UPSTASH_REDIS_REST_URL: options.upstash.url,
      UPSTASH_REDIS_REST_TOKEN: options.upstash.token,
      DATA_DIR: options.dataDir,
      APP_URL: "https://bench.example.test",
      RATE_LIMITS: GENEROUS_RATE_LIMITS,
      QSTASH_URL: "http://127.0.0.1:9",
      QSTASH_TOKEN: "bench",
      QSTASH_CURRENT_SIGNING_KEY: `sig_${randomBytes(16).toString("hex")}`,
      QSTASH_NEXT_SIGNING_KEY: `sig_${randomBytes(16).toString("hex")}`,
      RESEND_API_KEY: "re_bench",
      RESEND_BASE_URL: "http://127.0.0.1:9",
      TWILIO_SID: `AC${randomBytes(16).toString("hex")}`,
      TWILIO_AUTH_TOKEN: randomBytes(16).toString("hex"),
      TWILIO_NUMBER: "+15005550006",
    }),
  };
}
