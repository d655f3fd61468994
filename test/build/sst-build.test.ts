import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type BuildFailure, type BuildResult, build, type Metafile } from "esbuild-sst";
import { beforeAll, describe, expect, it } from "vitest";
import {
  buildManifest,
  type FunctionSpec,
  LAMBDA_NODE_RUNTIME,
  LAMBDA_NODEJS_BUILD,
} from "../../infra/functions";
import { sourceFiles } from "../helpers/source-files";
import { SST_TARGET_BY_RUNTIME, SST_VERSION, sstFunctionBuildOptions } from "./sst-esbuild";

/**
 * Functions that fail SST's build, each with the error it fails with: none since the composition
 * root stopped reaching the password hasher (`shared/wiring/passwords.ts` is imported only by the
 * functions that hash and list `@node-rs/argon2`). Keep it empty; a listed function that builds
 * fails the test, so an entry cannot outlive its bug.
 */
const KNOWN_SST_BUILD_FAILURES: Record<string, RegExp> = {};

const root = join(import.meta.dirname, "../..");
const manifest = await buildManifest(["User1", "User2"]);

type Outcome = { ok: true; code: string; eagerInputs: string[] } | { ok: false; errors: string[] };

/**
 * The source files a bundle runs at import: the inputs of its entry chunk and of every chunk that
 * chunk imports statically (what is left out is behind an `import()`).
 */
function eagerInputs(metafile: Metafile): string[] {
  const outputs = metafile.outputs;
  const entry = Object.keys(outputs).find((f) => f.endsWith("/bundle.mjs"));
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imp of outputs[file]?.imports ?? [])
      if (imp.kind === "import-statement" && !imp.external) visit(imp.path);
  };
  if (entry) visit(entry);
  return [...seen].flatMap((file) => Object.keys(outputs[file]?.inputs ?? {}));
}

/**
 * Code that must not run at import in any function: the OpenAPI generator and `@hono/zod-openapi`
 * (build time only; importing it makes a bundle keep all of zod), zod's locales other than English
 * (in a bundle only when zod's whole `z` namespace is kept: `import { z } from "zod"`), and
 * libphonenumber's metadata (loaded by the first request that parses a number).
 */
const NOT_AT_IMPORT = [
  /@hono\/zod-openapi\//,
  /@asteasolutions\/zod-to-openapi\//,
  /zod\/v4\/locales\/(?!en\.js)/,
  /libphonenumber-js\//,
];

/**
 * Builds one function exactly as SST 4.17 does (`sst-esbuild.ts`) except for one thing: no
 * sourcemap. SST writes a linked `.map` beside the bundle; it changes neither module resolution
 * nor the bundle's code (only a trailing `sourceMappingURL` comment) and triples the build time.
 */
async function sstBuild(fn: Pick<FunctionSpec, "name" | "module" | "nodeInstall">): Promise<Outcome> {
  try {
    const result: BuildResult<{ metafile: true }> = await build({
      ...sstFunctionBuildOptions(fn, {
        root,
        outdir: join(root, ".sst/test-build", fn.name),
        runtime: LAMBDA_NODE_RUNTIME,
        nodejs: { install: [...(fn.nodeInstall ?? [])], ...LAMBDA_NODEJS_BUILD },
      }),
      sourcemap: false,
      write: false,
      metafile: true,
    });
    const code = (result.outputFiles ?? [])
      .filter((f) => f.path.endsWith(".mjs"))
      .map((f) => f.text)
      .join("\n");
    return { ok: true, code, eagerInputs: eagerInputs(result.metafile) };
  } catch (err) {
    const failure = err as BuildFailure;
    if (!Array.isArray(failure.errors)) throw err;
    // The same text SST's CLI reports (build.go: `text file:line:column`).
    return {
      ok: false,
      errors: failure.errors.map((e) =>
        e.location ? `${e.text} ${e.location.file}:${e.location.line}:${e.location.column}` : e.text,
      ),
    };
  }
}

const outcomes = new Map<string, Outcome>();
/** Bundles of the known failures built with `@node-rs/argon2` external, only to read their secrets. */
const diagnostic = new Map<string, Outcome>();

beforeAll(async () => {
  await Promise.all(
    manifest.map(async (fn) => {
      outcomes.set(fn.name, await sstBuild(fn));
      if (fn.name in KNOWN_SST_BUILD_FAILURES)
        diagnostic.set(
          fn.name,
          await sstBuild({ ...fn, nodeInstall: [...(fn.nodeInstall ?? []), "@node-rs/argon2"] }),
        );
    }),
  );
}, 600_000);

describe("SST 4.17 builds every manifest function (sst.aws.Function's own esbuild settings)", () => {
  it("models the SST version and runtime that deploy", () => {
    const installed = JSON.parse(readFileSync(join(root, "node_modules/sst/package.json"), "utf8")) as {
      version: string;
    };
    expect(installed.version, "re-read SST's build.go and update sst-esbuild.ts").toBe(SST_VERSION);
    expect(Object.keys(SST_TARGET_BY_RUNTIME)).toContain(LAMBDA_NODE_RUNTIME);
  });

  it("lists only manifest functions as known failures", () => {
    const names = manifest.map((f) => f.name);
    for (const name of Object.keys(KNOWN_SST_BUILD_FAILURES)) expect(names).toContain(name);
  });

  it.each(manifest.map((f) => [f.name, f.module] as const))("%s (%s)", (name) => {
    const outcome = outcomes.get(name);
    const known = KNOWN_SST_BUILD_FAILURES[name];
    if (known) {
      expect(outcome?.ok, `${name} now builds: remove it from KNOWN_SST_BUILD_FAILURES`).toBe(false);
      if (outcome && !outcome.ok) for (const e of outcome.errors) expect(e).toMatch(known);
    } else {
      expect(outcome?.ok ? [] : outcome?.errors).toEqual([]);
    }
  });

  it("fails a function that reaches a native package it does not list in nodeInstall", async () => {
    const login = manifest.find((f) => f.name === "Login");
    expect(login?.nodeInstall).toContain("@node-rs/argon2");
    if (!login) return;
    const listed = await sstBuild(login);
    const wrong = await sstBuild({ ...login, nodeInstall: [] });
    expect(listed.ok).toBe(true);
    expect(wrong.ok).toBe(false);
    if (!wrong.ok) expect(wrong.errors.join("\n")).toMatch(/No loader is configured for "\.node" files/);
  });

  it.each(
    manifest.filter((f) => (f.nodeInstall ?? []).length > 0).map((f) => [f.name, f.nodeInstall] as const),
  )("%s loads its nodeInstall packages %j only on demand", (name, packages) => {
    // esbuild hoists a STATIC import of an external package to the bundle's top level even when it
    // sits in a lazily imported adapter: every cold start would then load (or, where SST did not
    // install it, crash on) the addon. Native packages must be imported dynamically.
    const outcome = outcomes.get(name);
    if (!outcome?.ok) return; // reported by the build test above
    for (const pkg of packages ?? [])
      expect(outcome.code, `static import of ${pkg}`).not.toMatch(
        new RegExp(`^import[^;]*from\\s*["']${pkg}["']`, "m"),
      );
  });
});

describe("each function's default context holds only its spec's secrets (least privilege)", () => {
  // Which secrets each spec lists is derived from what the code reads in
  // test/e2e/secret-grants.e2e.test.ts; here: every deployed entry applies its own spec's grant
  // (every bundle names every variable, since the configuration parser knows them all, so the
  // grant is what keeps a function from reading the others).
  it.each(manifest.map((f) => [f.name, f.module] as const))("%s", (_name, module) => {
    const source = readFileSync(join(root, `${module}.ts`), "utf8");
    const stem = module.split("/").pop() as string;
    expect(source).toContain(`import { spec } from "./${stem}.endpoint";`);
    expect(source).toMatch(/lazyApp\(\(\) => createApp\((defaultContext|edgeContext)\(spec[,)]/);
  });
});

describe("what a function runs at import", () => {
  it.each(manifest.map((f) => [f.name] as const))(
    "%s: no OpenAPI generator, no zod beyond what it uses, no phone metadata",
    (name) => {
      const outcome = outcomes.get(name);
      if (!outcome?.ok) return; // reported by the build test
      expect(outcome.eagerInputs.some((input) => input.includes("node_modules/zod/"))).toBe(true);
      for (const pattern of NOT_AT_IMPORT)
        expect(
          outcome.eagerInputs.filter((input) => pattern.test(input)),
          String(pattern),
        ).toEqual([]);
    },
  );

  it("sees them where a module does import them (the check can fail)", async () => {
    const outcome = await sstBuild({ name: "Fixture", module: "test/build/fixtures/heavy-at-import" });
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    for (const pattern of NOT_AT_IMPORT)
      expect(
        outcome.eagerInputs.some((input) => pattern.test(input)),
        String(pattern),
      ).toBe(true);
  });
});

describe("lazy loading survives bundling", () => {
  it("imports a bundled package dynamically nowhere (only the native packages SST installs beside the bundle)", () => {
    // In an esbuild chunk, `await import("pkg")` of a CommonJS package (e.g. @upstash/ratelimit,
    // which has no ESM entry for esbuild) exposes only `default`: `const { X } = await import(…)`
    // works under Node and tsx, where the tests run, and is undefined in the deployed bundle. Load
    // such a package lazily through a module of this repository that imports it statically.
    const external = new Set(manifest.flatMap((fn) => fn.nodeInstall ?? []));
    const offenders = ["functions", "shared"].flatMap(sourceFiles).flatMap((file) =>
      [...readFileSync(join(root, file), "utf8").matchAll(/import\(\s*["'`]([^."'`][^"'`]*)["'`]\s*\)/g)]
        .map((m) => m[1] ?? "")
        .filter((pkg) => !external.has(pkg))
        .map((pkg) => `${file}: import("${pkg}")`),
    );
    expect(offenders).toEqual([]);
  });
});
