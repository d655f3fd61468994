import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { buildManifest } from "../../infra/functions";
import { edgeBuildOptions } from "../build/edge-esbuild";

const root = join(import.meta.dirname, "../..");
/** Packages that only run on Node (drivers, native addons, Node-targeted SDKs). */
const NODE_ONLY = [
  "better-sqlite3",
  "mongodb",
  "twilio",
  "@node-rs/argon2",
  "@redis/client",
  "@hono/node-server",
];

/**
 * DESIGN.md §2 "Edge vs Node": every function marked `edge` in the manifest must bundle for a
 * Web-standard platform. esbuild with `platform: "browser"` cannot resolve Node built-ins, so any
 * `node:*` import reachable from the function fails the build; the metafile check catches
 * Node-only packages that would only fail at run time.
 */
const edge = (await buildManifest(["User1", "User2"])).filter((f) => f.runtime === "edge");

describe("edge functions bundle without Node built-ins", () => {
  it("has at least one edge function to check", () => {
    expect(edge.length).toBeGreaterThan(0);
  });

  it.each(edge.map((f) => [f.name, f.module]))(
    "%s (%s) bundles for the browser platform",
    async (_name, module) => {
      const result = await build({ ...edgeBuildOptions(root, { module }), write: false });
      expect(result.errors).toEqual([]);
      const inputs = Object.keys(result.metafile.inputs);
      expect(inputs.filter((i) => i.startsWith("node:"))).toEqual([]);
      for (const pkg of NODE_ONLY)
        expect(
          inputs.filter((i) => i.includes(`node_modules/${pkg}/`)),
          pkg,
        ).toEqual([]);
    },
  );
});
