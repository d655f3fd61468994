import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { buildManifest } from "../../infra/functions";

/**
 * Bundle size and cold import time per deployed function (DESIGN.md "Vendor SDK weight": keep
 * each function's imports to what it uses). Each function is bundled as SST would (esbuild, Node
 * ESM, minified, native packages external), then imported in fresh Node processes; the figure is
 * the median wall time of `import()` minus that of an empty Node start. Prints a table; no assertions.
 *
 * Run: `npm run bench` (all benchmarks) or `npx tsx test/bench/function-cold-start.ts`.
 */
const RUNS = 5;
const root = join(import.meta.dirname, "../..");
const out = mkdtempSync(join(tmpdir(), "cold-start-"));
const env = {
  ...process.env,
  ENVIRONMENT: "test",
  JWT_SECRET: randomBytes(48).toString("base64url"),
  ENCRYPTION_KEY: randomBytes(32).toString("base64"),
  EMAIL_SALT: randomBytes(32).toString("base64url"),
  UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
  UPSTASH_REDIS_REST_TOKEN: "bench",
  LOG_LEVEL: "silent",
};

function medianMs(args: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { env, cwd: out, stdio: ["ignore", "ignore", "pipe"] });
    if (r.status !== 0)
      throw new Error(`node ${args.join(" ")} failed: ${r.stderr.toString().slice(0, 500)}`);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

const baseline = medianMs(["-e", ""]);
const rows: string[][] = [];
for (const fn of await buildManifest(["User1", "User2"])) {
  const file = join(out, `${fn.name}.mjs`);
  await build({
    entryPoints: [join(root, `${fn.module}.ts`)],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minify: true,
    outfile: file,
    logLevel: "silent",
    external: ["@node-rs/argon2", "better-sqlite3"],
    // ESM bundles of CommonJS dependencies need a `require` in scope.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  });
  const bytes = readFileSync(file);
  writeFileSync(join(out, `${fn.name}.run.mjs`), `await import(${JSON.stringify(file)});`);
  const importMs = medianMs([join(out, `${fn.name}.run.mjs`)]) - baseline;
  rows.push([
    fn.name,
    fn.runtime,
    `${(bytes.length / 1024).toFixed(0)} KiB`,
    `${(gzipSync(bytes).length / 1024).toFixed(0)} KiB`,
    `${importMs.toFixed(0)} ms`,
  ]);
}
rmSync(out, { recursive: true, force: true });

const header = ["function", "runtime", "bundle", "gzip", "cold import"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join("  ");
console.log(
  `Function bundles (esbuild, minified, as SST builds them) and cold import, median of ${RUNS} fresh processes`,
);
console.log(`(empty node start: ${baseline.toFixed(0)} ms, subtracted)\n`);
console.log(line(header));
for (const r of rows) console.log(line(r));
