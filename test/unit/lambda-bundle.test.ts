import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { buildManifest } from "../../infra/functions";

const root = join(import.meta.dirname, "../..");
/** Native packages a deployed function does not bundle (SST installs or omits them). */
const NATIVE = ["better-sqlite3", "@node-rs/argon2"];

/**
 * A deployed function is one esbuild ESM bundle with native packages external. esbuild hoists a
 * STATIC import of an external package to the bundle's top level even when it sits in a lazily
 * imported adapter, so such an import would make every Lambda load (and, without the package,
 * crash on) that addon at cold start. Native packages must therefore be loaded lazily
 * (dynamic `import()` or `createRequire`), which this test checks in each bundle's output.
 */
const node = (await buildManifest(["User1", "User2"])).filter((f) => f.runtime === "node");

describe("Lambda bundles load native packages only on demand", () => {
  it.each(node.map((f) => [f.name, f.module]))(
    "%s (%s) has no top-level import of a native package",
    async (_n, module) => {
      const result = await build({
        entryPoints: [join(root, `${module}.ts`)],
        bundle: true,
        write: false,
        platform: "node",
        format: "esm",
        target: "node20",
        external: NATIVE,
        logLevel: "silent",
      });
      const code = result.outputFiles[0]?.text ?? "";
      for (const pkg of NATIVE) {
        expect(code, `static import of ${pkg}`).not.toMatch(
          new RegExp(`^import[^;]*from\\s*["']${pkg}["']`, "m"),
        );
      }
    },
  );
});
