import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { BuildOptions, Plugin } from "esbuild-sst";
import type { FunctionSpec } from "../../infra/functions";

/**
 * SST version these settings were read from. `sst.config.ts` is deployed by the `sst` CLI of
 * package.json; a test compares this with the installed package so an upgrade makes someone
 * re-read SST's build code.
 */
export const SST_VERSION = "4.17.1";

/** Packages SST always leaves out of a Node function bundle (`forceExternal` in build.go). */
export const SST_FORCE_EXTERNAL = ["sharp", "pg-native"] as const;

/** esbuild `target` per Lambda runtime (`targetMap` in build.go). */
export const SST_TARGET_BY_RUNTIME = {
  "nodejs24.x": "es2024",
  "nodejs22.x": "es2023",
  "nodejs20.x": "es2023",
  "nodejs18.x": "es2022",
} as const;

/** Lambda runtimes SST 4.17 can build Node functions for. */
export type SstNodeRuntime = keyof typeof SST_TARGET_BY_RUNTIME;

/**
 * The banner SST prepends to every ESM function bundle (build.go), so bundled CommonJS code finds
 * `require`, `__filename` and `__dirname`; a function's own `nodejs.banner` follows it on the last line.
 */
export const SST_ESM_BANNER = [
  `import { createRequire as topLevelCreateRequire } from 'module';`,
  `const require = topLevelCreateRequire(import.meta.url);`,
  `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
  `const __filename = topLevelFileUrlToPath(import.meta.url)`,
  `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
].join("\n");

/**
 * The esbuild options SST 4.17 uses for every Node `sst.aws.Function` when a function sets no
 * `nodejs.esbuild`, `nodejs.format`, `nodejs.loader` or `nodejs.plugins` (this project sets none).
 *
 * Source: `pkg/runtime/node/build.go` (`Runtime.Build`) and `pkg/runtime/node/node.go`
 * (`NodeProperties`, `Resolve*` defaults) of github.com/anomalyco/sst at tag v4.17.0; the
 * installed 4.17.1 CLI binary (commit a0bd20f7) embeds the same banner lines, the same runtime
 * table and esbuild v0.27.2, which is why the tests build with `esbuild-sst` (npm `esbuild@0.27.2`),
 * not the project's newer esbuild. `platform/src/components/aws/function.ts` (`buildInput`)
 * passes the function's `nodejs` props through unchanged, so:
 * - `format` esm, `platform` node, `bundle`, `metafile`, `keepNames` true (`ResolveKeepNames(true)`),
 *   `sourcemap` linked (`ResolveSourcemap(SourceMapLinked)`), `mainFields` `["module","main"]`,
 *   no `conditions` (esbuild's defaults), no loaders beyond esbuild's own;
 * - NOT minified unless `nodejs.minify: true` is set: build.go minifies only when
 *   `properties.Minify`, a Go bool that is false when absent (the doc comment's `@default true`
 *   is not what the code does);
 * - `splitting` only with `nodejs.splitting: true` (then `outdir` + `entryNames: "bundle"`, `.mjs`).
 *
 * Per function, {@link sstFunctionBuildOptions} adds the entry, `target` from the runtime and
 * `external` = {@link SST_FORCE_EXTERNAL} + the function's `nodejs.install` list, nothing else.
 */
export const SST_NODE_BUILD = {
  platform: "node",
  format: "esm",
  bundle: true,
  metafile: true,
  keepNames: true,
  sourcemap: "linked",
  mainFields: ["module", "main"],
  minify: false,
  splitting: false,
  banner: { js: SST_ESM_BANNER },
  logLevel: "silent",
} as const satisfies BuildOptions;

/** The `nodejs` props of an `sst.aws.Function` that change SST's build (the subset this project may set). */
export interface SstNodejsProps {
  /** Packages installed next to the bundle instead of bundled (`nodejs.install`). */
  install?: readonly string[];
  /** `nodejs.minify` (SST: false when absent). */
  minify?: boolean;
  /** `nodejs.splitting` (SST: false when absent). */
  splitting?: boolean;
  /** `nodejs.banner`, appended to SST's own banner. */
  banner?: string;
}

/**
 * Rejects an `sst` package whose version differs from the CLI's, as SST's `sst-version-check`
 * plugin does (build.go), so a function that imports `sst` (`Resource`) fails here as at deploy.
 */
export function sstVersionCheck(cliVersion: string = SST_VERSION): Plugin {
  const skip = Symbol("sst-version-check");
  return {
    name: "sst-version-check",
    setup(build) {
      build.onResolve({ filter: /^sst$/ }, async (args) => {
        if (args.pluginData === skip) return undefined;
        const resolved = await build.resolve("sst", {
          resolveDir: args.resolveDir,
          importer: args.importer,
          kind: args.kind,
          pluginData: skip,
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        let dir = dirname(resolved.path);
        for (;;) {
          try {
            const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: string };
            if (pkg.version !== cliVersion)
              return {
                errors: [
                  {
                    text: `The sst package your application is importing (${pkg.version}) does not match the sst cli version (${cliVersion}).`,
                  },
                ],
              };
            return { path: resolved.path };
          } catch {
            if (dirname(dir) === dir) return { path: resolved.path };
            dir = dirname(dir);
          }
        }
      });
    },
  };
}

/** Where {@link sstFunctionBuildOptions} writes (or, with `write: false`, names) a bundle. */
export interface SstBuildTarget {
  /** Repository root (entry modules are resolved from it). */
  root: string;
  /** Output directory of this function: `bundle.mjs` (+ chunks when splitting) goes there. */
  outdir: string;
  /** Lambda runtime the function is deployed with. */
  runtime: SstNodeRuntime;
  /** The `nodejs` props `sst.config.ts` passes (default: `{ install: fn.nodeInstall }`). */
  nodejs?: SstNodejsProps;
}

/**
 * esbuild options equal to SST 4.17's build of one manifest function (see {@link SST_NODE_BUILD}).
 * Writes nothing by itself: the caller passes `write` (false in tests).
 */
export function sstFunctionBuildOptions(
  fn: Pick<FunctionSpec, "module" | "nodeInstall">,
  target: SstBuildTarget,
): BuildOptions {
  const nodejs = target.nodejs ?? { install: fn.nodeInstall ?? [] };
  const splitting = nodejs.splitting ?? false;
  return {
    ...SST_NODE_BUILD,
    entryPoints: [join(target.root, `${fn.module}.ts`)],
    target: SST_TARGET_BY_RUNTIME[target.runtime],
    external: [...SST_FORCE_EXTERNAL, ...(nodejs.install ?? [])],
    minify: nodejs.minify ?? false,
    splitting,
    banner: { js: [SST_ESM_BANNER, nodejs.banner ?? ""].join("\n") },
    plugins: [sstVersionCheck()],
    ...(splitting
      ? { outdir: target.outdir, entryNames: "bundle", outExtension: { ".js": ".mjs" } }
      : { outfile: join(target.outdir, "bundle.mjs") }),
  };
}
