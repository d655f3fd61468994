import { readdirSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { build, type Plugin } from "esbuild";
import { describe, expect, it } from "vitest";

// shared/crypto must run on any runtime (DESIGN §2 "Edge vs Node"): bundled for a neutral/browser
// platform, no module may pull in a Node built-in or a Node-only package. The one exception,
// password-native.ts, may only be reached through a dynamic import().
const ROOT = join(import.meta.dirname, "../../..");
const CRYPTO_DIR = join(ROOT, "shared/crypto");
// otpauth: its browser build computes HMAC with its own bundled @noble/hashes (no Node built-in).
const ALLOWED_PACKAGES = ["jose", "@noble/hashes", "hash-wasm", "otpauth"];
const NATIVE_MODULE = /(^|\/)password-native(\.ts)?$/;
const BUILTINS = new Set(builtinModules);

interface Analysis {
  builtins: string[];
  nativeImports: { kind: string; importer: string }[];
  packages: string[];
  localFiles: string[];
}

function packageOf(input: string): string | undefined {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return match?.[1];
}

async function analyze(entry: string): Promise<Analysis> {
  const found: Analysis = { builtins: [], nativeImports: [], packages: [], localFiles: [] };
  const guard: Plugin = {
    name: "node-guard",
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.replace(/^node:/, "").split("/")[0]!;
        if (args.path.startsWith("node:") || BUILTINS.has(bare)) {
          found.builtins.push(`${args.path} (from ${relative(ROOT, args.importer)})`);
          return { path: args.path, external: true };
        }
        if (NATIVE_MODULE.test(args.path) && args.importer !== "") {
          found.nativeImports.push({ kind: args.kind, importer: relative(ROOT, args.importer) });
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    mainFields: ["browser", "module", "main"],
    conditions: ["browser", "import", "default"],
    metafile: true,
    logLevel: "silent",
    plugins: [guard],
  });
  for (const input of Object.keys(result.metafile.inputs)) {
    const pkg = packageOf(input);
    if (pkg !== undefined) found.packages.push(pkg);
    else found.localFiles.push(input);
  }
  found.packages = [...new Set(found.packages)].sort();
  return found;
}

const modules = readdirSync(CRYPTO_DIR)
  .filter((f) => f.endsWith(".ts") && f !== "password-native.ts")
  .sort();

describe("shared/crypto bundles for a neutral (edge/browser) platform", () => {
  it("covers every crypto module", () => {
    expect(modules).toEqual(
      expect.arrayContaining(["envelope.ts", "password.ts", "tokens.ts", "blind-index.ts"]),
    );
  });

  it.each(modules)("%s pulls in no Node built-in and no Node-only package", async (file) => {
    const found = await analyze(join(CRYPTO_DIR, file));
    expect(found.builtins).toEqual([]);
    for (const pkg of found.packages) expect(ALLOWED_PACKAGES).toContain(pkg);
    for (const local of found.localFiles) expect(local).toMatch(/^shared\/(crypto\/[a-z0-9-]+|errors)\.ts$/);
    // The native Argon2 module is only ever loaded lazily, from password.ts.
    for (const native of found.nativeImports) {
      expect(native).toEqual({ kind: "dynamic-import", importer: "shared/crypto/password.ts" });
    }
  });

  it("password.ts reaches the native backend only through a dynamic import()", async () => {
    const found = await analyze(join(CRYPTO_DIR, "password.ts"));
    expect(found.nativeImports).toEqual([{ kind: "dynamic-import", importer: "shared/crypto/password.ts" }]);
    expect(found.packages).toContain("hash-wasm");
  });

  it("the check detects Node-only code (control: password-native.ts itself is not neutral)", async () => {
    const outcome = await analyze(join(CRYPTO_DIR, "password-native.ts")).then(
      (found) => found.builtins.length > 0 || found.packages.some((p) => !ALLOWED_PACKAGES.includes(p)),
      // For a browser/neutral target @node-rs/argon2 resolves to a WASI build that is not installed.
      (error: Error) => error.message.includes("@node-rs/argon2"),
    );
    expect(outcome).toBe(true);
  });
});
