import { join } from "node:path";
import type { BuildOptions, Plugin } from "esbuild";
import type { FunctionSpec } from "../../infra/functions";

/**
 * The Lambda entry adapter (`hono/aws-lambda`, which uses `node:stream`) is what the Node/Lambda
 * deployment wraps the app in; an edge deployment serves `app.fetch` (the module's default export)
 * instead, so the adapter is replaced by a stub that throws if it is ever called.
 */
export const lambdaAdapterStub: Plugin = {
  name: "lambda-adapter-stub",
  setup(b) {
    b.onResolve({ filter: /^hono\/aws-lambda$/ }, () => ({ path: "aws-lambda", namespace: "stub" }));
    b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
      contents:
        "export const handle = () => () => { throw new Error('the Lambda adapter is not used on edge'); };",
      loader: "js",
    }));
  },
};

/**
 * esbuild options of an `edge` function's bundle (DESIGN.md §2 "Edge vs Node"): one ESM file for a
 * Web-standard runtime (Cloudflare workerd, Vercel Edge, Deno): `platform: "browser"`, so a Node
 * built-in anywhere in the graph fails the build, and the export conditions those runtimes resolve
 * (`worker`, `browser`). The bundle's default export is `{ fetch }`. Nothing is external.
 */
export function edgeBuildOptions(
  root: string,
  fn: Pick<FunctionSpec, "module">,
): BuildOptions & { metafile: true } {
  return {
    entryPoints: [join(root, `${fn.module}.ts`)],
    bundle: true,
    platform: "browser",
    format: "esm",
    metafile: true,
    logLevel: "silent",
    conditions: ["worker", "browser", "import", "default"],
    plugins: [lambdaAdapterStub],
  };
}
