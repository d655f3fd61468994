import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import type { BuildResult, Metafile } from "esbuild-sst";
import {
  buildManifest,
  type FunctionSpec,
  LAMBDA_NODE_RUNTIME,
  LAMBDA_NODEJS_BUILD,
} from "../../infra/functions";
import { startRedisServer } from "../../infra/local/redis-server";
import { startUpstashBridge } from "../../infra/local/upstash-bridge";
import {
  type BundleRun,
  buildFunctionBundle,
  bundledFunctionEnv,
  bundleEntry,
  runBundledRequest,
  writeBundleRunner,
} from "../helpers/bundled-functions";

/**
 * Cold start per deployed function, beside an all-in-one bundle of the whole API (DESIGN.md
 * "Vendor SDK weight": keep each function's imports to what it uses).
 *
 * - Bundles: each function built with SST 4.17's own esbuild settings (`test/build/sst-esbuild.ts`:
 *   ESM, es2024 for nodejs24.x, not minified, external = sharp, pg-native + its `nodeInstall`),
 *   without the sourcemap SST writes beside it (Node does not read it). A function SST cannot build
 *   today is measured with `@node-rs/argon2` external as well and flagged in the table.
 * - All-in-one: one Hono app routing every manifest route to its function's app (and everything
 *   else to the `$default` function), built with the same settings.
 * - "at import": bytes of the entry file plus every chunk it imports statically (= the bundle
 *   without `nodejs.splitting`); "gzip": all JS of the bundle, gzipped (what the zip carries).
 * - Cold import + first request: in a fresh `node` process, `import()` of the bundle and then one
 *   request to the function's first route through `app.fetch` (JSON `{}` body for POST/PUT/DELETE,
 *   no credentials), against a real redis-server behind the Upstash REST bridge, SQLite as the user
 *   store. Median of {@link RUNS} runs; the all-in-one bundle answers the same request in runs
 *   interleaved with the function's, so both see the same machine load. Node's own start-up is
 *   not included (both are timed inside the process).
 *
 * - Floors, built and run the same way: a minimal Hono function; one with zod; "minimal-stack", the
 *   chosen packages a token-checked account function needs (hono, zod, @upstash/redis over the
 *   service's transport, @upstash/ratelimit, jose, pino) doing one request's work with none of the
 *   service's own code; and one on `@hono/zod-openapi` (what functions loaded before `route-app.ts`).
 *   They show what a function pays before its own code.
 *
 * Prints a table; no assertions. Run: `npm run bench` or `npx tsx test/bench/function-cold-start.ts`
 * (`--only Profile,Login` for some functions, `--cpu-prof <dir>` for a V8 CPU profile of each of
 * their runs, `--no-minify` to read such a profile by source names, `--keep` to keep the bundles).
 */
const RUNS = 5;
/**
 * `--no-minify`: every bundle built unminified, so a `--cpu-prof` profile names functions and
 * lines as in the sources (the figures are then not the deployed bundles').
 */
const NODEJS_BUILD = process.argv.includes("--no-minify")
  ? { ...LAMBDA_NODEJS_BUILD, minify: false }
  : LAMBDA_NODEJS_BUILD;
const execFileAsync = promisify(execFile);
const root = join(import.meta.dirname, "../..");
// Inside the repository (ignored `.sst/`), so a bundle resolves its external packages from node_modules.
const out = join(root, ".sst/bench");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

/** Known SST build failures are measured with this extra external (see sst-build.test.ts). */
const DIAGNOSTIC_EXTERNAL = "@node-rs/argon2";

interface Built {
  entry: string;
  totalBytes: number;
  eagerBytes: number;
  gzipBytes: number;
  sstBuild: "ok" | "FAILS";
}

/** Output files the entry loads at import: itself and, transitively, its static imports. */
function eagerOutputs(metafile: Metafile, entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imp of metafile.outputs[file]?.imports ?? [])
      if (imp.kind === "import-statement" && !imp.external) visit(imp.path);
  };
  visit(entry);
  return [...seen];
}

async function bundle(
  name: string,
  fn: Pick<FunctionSpec, "module" | "nodeInstall" | "copyFiles">,
  nodejs: { splitting: boolean; minify: boolean } = NODEJS_BUILD,
): Promise<Built> {
  const outdir = join(out, name);
  let result: BuildResult<{ metafile: true }>;
  let sstBuild: Built["sstBuild"] = "ok";
  try {
    result = await buildFunctionBundle(fn, outdir, nodejs);
  } catch {
    sstBuild = "FAILS";
    result = await buildFunctionBundle(fn, outdir, nodejs, [...(fn.nodeInstall ?? []), DIAGNOSTIC_EXTERNAL]);
  }
  const outputs = Object.keys(result.metafile.outputs).filter((f) => f.endsWith(".mjs"));
  const entry = bundleEntry(result);
  const size = (files: string[]) => files.reduce((n, f) => n + readFileSync(join(root, f)).length, 0);
  return {
    entry,
    totalBytes: size(outputs),
    eagerBytes: size(eagerOutputs(result.metafile, relative(root, entry))),
    gzipBytes: gzipSync(Buffer.concat(outputs.map((f) => readFileSync(join(root, f))))).length,
    sstBuild,
  };
}

/** Child process: import the bundle, send one request through its app, print the timings as JSON. */
const runner = writeBundleRunner(out);
type Run = BundleRun;
const runOnce = (
  env: NodeJS.ProcessEnv,
  entry: string,
  method: string,
  path: string,
  nodeArgs: readonly string[] = [],
): Promise<Run> => runBundledRequest(runner, env, entry, method, path, nodeArgs);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

const redis = await startRedisServer({ persist: false });
const bridge = await startUpstashBridge({
  redisUrl: redis.url,
  token: randomBytes(24).toString("base64url"),
});
try {
  const env = bundledFunctionEnv({ upstash: bridge, dataDir: join(out, "data") });
  // The docs function serves the document `npm run openapi` generates before a deploy.
  await execFileAsync(process.execPath, ["--import", "tsx", join(root, "infra/write-openapi.ts")], {
    cwd: root,
    env: { ...process.env, APP_URL: "https://bench.example.test" },
  });
  const manifest = await buildManifest(["User1", "User2"]);

  // The all-in-one app: every manifest route to its function's app, the rest to `$default`.
  const allEntry = join(out, "all-in-one.ts");
  const lines = ['import { Hono } from "hono";'];
  manifest.forEach((fn, i) => {
    lines.push(`import { app as f${i} } from ${JSON.stringify(join(root, `${fn.module}.ts`))};`);
  });
  lines.push("export const app = new Hono();");
  manifest.forEach((fn, i) => {
    for (const r of fn.routes)
      lines.push(
        `app.on(${JSON.stringify(r.method)}, ${JSON.stringify(r.path)}, (c) => f${i}.fetch(c.req.raw, c.env));`,
      );
    if (fn.gatewayDefault) lines.push(`app.notFound((c) => f${i}.fetch(c.req.raw, c.env));`);
  });
  writeFileSync(allEntry, `${lines.join("\n")}\n`);
  const nativeAll = [...new Set(manifest.flatMap((f) => f.nodeInstall ?? []))];
  const copyAll = [...new Map(manifest.flatMap((f) => f.copyFiles ?? []).map((c) => [c.to, c])).values()];
  const allInOne = {
    module: relative(root, allEntry).replace(/\.ts$/, ""),
    nodeInstall: nativeAll,
    copyFiles: copyAll,
  };
  const all = await bundle("all-in-one", allInOne);
  // The monolith: the same app as one file, as a single Lambda is usually built (no splitting).
  const mono = await bundle("monolith", allInOne, { ...NODEJS_BUILD, splitting: false });
  // Floors: what any Hono function pays before its own code (Node's ESM loader, undici loaded for
  // `Request`/`Response` on the first request): Hono alone; Hono with zod imported as the functions
  // import it (`import * as z`); and with `@hono/zod-openapi`, which the functions no longer load
  // at run time (`shared/http/route-app.ts`), for comparison.
  const floors: [string, string][] = [
    [
      "minimal-hono",
      'import { Hono } from "hono";\nexport const app = new Hono();\napp.get("/User1/", (c) => c.json({ ok: false }, 401));\n',
    ],
    [
      "minimal-hono-zod",
      'import { Hono } from "hono";\nimport * as z from "zod";\nexport const app = new Hono();\nconst Body = z.object({ ok: z.boolean() }).meta({ id: "Body" });\napp.get("/User1/", (c) => c.json(Body.parse({ ok: false }), 401));\n',
    ],
    [
      // The chosen packages a token-checked account function needs, used as the functions use
      // them, with none of the service's own code but its Upstash transport: config parsed with
      // zod, one rate-limit evaluation over Upstash, jose imported, one pino logger.
      "minimal-stack",
      [
        'import { Hono } from "hono";',
        'import * as z from "zod";',
        'import { Ratelimit } from "@upstash/ratelimit";',
        'import { jwtVerify } from "jose/jwt/verify";',
        'import pino from "pino";',
        `import { upstashRedisOver } from ${JSON.stringify(join(root, "shared/adapters/upstash-kv.ts"))};`,
        `import { createNodeRequester } from ${JSON.stringify(join(root, "shared/adapters/upstash-node-transport.ts"))};`,
        "const Env = z.object({ UPSTASH_REDIS_REST_URL: z.url(), UPSTASH_REDIS_REST_TOKEN: z.string().min(1), LOG_LEVEL: z.string() });",
        "export const app = new Hono();",
        'app.get("/User1/", async (c) => {',
        "  const env = Env.parse(process.env);",
        "  const log = pino({ level: env.LOG_LEVEL });",
        "  const redis = upstashRedisOver(createNodeRequester({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN, timeoutMs: 2000 }));",
        '  const limiter = new Ratelimit({ redis, limiter: Ratelimit.slidingWindow(100, "60 s") });',
        '  const { success } = await limiter.limit("127.0.0.1");',
        '  const token = c.req.header("authorization");',
        "  if (token) await jwtVerify(token, new Uint8Array(32));",
        '  log.info({ success }, "request");',
        "  return c.json({ ok: false }, 401);",
        "});",
        "",
      ].join("\n"),
    ],
    [
      "minimal-zod-openapi",
      'import { OpenAPIHono, z } from "@hono/zod-openapi";\nexport const app = new OpenAPIHono();\nconst Body = z.object({ ok: z.boolean() }).openapi("Body");\napp.get("/User1/", (c) => c.json(Body.parse({ ok: false }), 401));\n',
    ],
  ];
  const floorRows: string[][] = [];
  for (const [name, source] of floors) {
    const entry = join(out, `${name}.ts`);
    writeFileSync(entry, source);
    const built = await bundle(name, { module: relative(root, entry).replace(/\.ts$/, "") });
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await runOnce(env, built.entry, "GET", "/User1/"));
    floorRows.push([
      `(${name})`,
      "node",
      built.sstBuild,
      kib(built.totalBytes),
      kib(built.eagerBytes),
      kib(built.gzipBytes),
      `GET /User1/ → ${runs[0]?.status}`,
      `${median(runs.map((r) => r.importMs)).toFixed(0)} ms`,
      `${median(runs.map((r) => r.importMs + r.requestMs)).toFixed(0)} ms`,
      ...Array(4).fill(""),
    ]);
  }

  // `--only Profile,Login` measures just those functions (beside the all-in-one).
  const onlyArg = process.argv.indexOf("--only");
  const only = onlyArg > 0 ? new Set((process.argv[onlyArg + 1] ?? "").split(",")) : undefined;
  // `--cpu-prof <dir>` writes a V8 CPU profile of each function run (not the baselines) there.
  const profArg = process.argv.indexOf("--cpu-prof");
  const profDir = profArg > 0 ? process.argv[profArg + 1] : undefined;
  const rows: string[][] = [];
  for (const fn of manifest.filter((f) => !only || only.has(f.name))) {
    const built = await bundle(fn.name, fn);
    const route = fn.routes[0] ?? { method: "GET" as const, path: "/no-such-route" };
    const mine: Run[] = [];
    const theirs: Run[] = [];
    const monos: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      const prof = profDir
        ? ["--cpu-prof", "--cpu-prof-interval=100", `--cpu-prof-dir=${join(profDir, fn.name)}`]
        : [];
      mine.push(await runOnce(env, built.entry, route.method, route.path, prof));
      theirs.push(await runOnce(env, all.entry, route.method, route.path));
      monos.push(await runOnce(env, mono.entry, route.method, route.path));
    }
    const total = median(mine.map((r) => r.importMs + r.requestMs));
    const allTotal = median(theirs.map((r) => r.importMs + r.requestMs));
    const monoTotal = median(monos.map((r) => r.importMs + r.requestMs));
    rows.push([
      fn.name,
      fn.runtime,
      built.sstBuild,
      kib(built.totalBytes),
      kib(built.eagerBytes),
      kib(built.gzipBytes),
      `${route.method} ${route.path} → ${mine[0]?.status}`,
      `${median(mine.map((r) => r.importMs)).toFixed(0)} ms`,
      `${total.toFixed(0)} ms`,
      `${allTotal.toFixed(0)} ms`,
      `${((100 * total) / allTotal).toFixed(0)} %`,
      `${monoTotal.toFixed(0)} ms`,
      `${((100 * total) / monoTotal).toFixed(0)} %`,
    ]);
  }
  for (const [label, b] of [
    ["(all-in-one)", all],
    ["(monolith)", mono],
  ] as const)
    rows.push([
      label,
      "node",
      b.sstBuild,
      kib(b.totalBytes),
      kib(b.eagerBytes),
      kib(b.gzipBytes),
      ...Array(7).fill(""),
    ]);
  rows.push(...floorRows);

  const header = [
    "function",
    "runtime",
    "SST build",
    "bundle",
    "at import",
    "gzip",
    "first request → status",
    "import",
    "import+1st req",
    "all-in-one",
    "share",
    "monolith",
    "share",
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join("  ");
  console.log(
    `Function bundles as SST ${LAMBDA_NODE_RUNTIME} builds them; medians of ${RUNS} fresh processes (import, import + first request),`,
  );
  console.log(
    "beside the all-in-one bundle answering the same request in interleaved runs. SST build FAILS: measured with @node-rs/argon2 external.\n",
  );
  console.log(line(header));
  for (const r of rows) console.log(line(r));
} finally {
  await bridge.close();
  await redis.stop();
  // `--keep` leaves the bundles in .sst/bench (e.g. to read a `--cpu-prof` profile against them).
  if (!process.argv.includes("--keep")) rmSync(out, { recursive: true, force: true });
}
