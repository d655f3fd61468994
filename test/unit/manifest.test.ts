import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildManifest, type FunctionSpec, SECRET_ENV } from "../../infra/functions";
import { testEnv } from "../helpers/env";

const root = join(import.meta.dirname, "../..");

/** Every deployable module under functions/: `functions/x.ts` or `functions/x/index.ts`. */
function functionModules(): string[] {
  return readdirSync(join(root, "functions")).flatMap((entry) => {
    const full = join(root, "functions", entry);
    if (statSync(full).isDirectory()) return [`functions/${entry}/index`];
    return entry.endsWith(".ts") && !entry.endsWith(".test.ts") && !entry.endsWith(".endpoint.ts")
      ? [`functions/${entry.replace(/\.ts$/, "")}`]
      : [];
  });
}

describe("function manifest", () => {
  let manifest: FunctionSpec[];
  beforeAll(async () => {
    Object.assign(
      process.env,
      testEnv({ UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9", UPSTASH_REDIS_REST_TOKEN: "t" }),
    );
    manifest = await buildManifest(["User1", "User2"]);
  });

  it("lists every file in functions/ and nothing else", () => {
    expect(manifest.map((f) => f.module).sort()).toEqual(functionModules().sort());
  });

  it("has unique names and unique method+path routes", () => {
    expect(new Set(manifest.map((f) => f.name)).size).toBe(manifest.length);
    const routes = manifest.flatMap((f) => f.routes.map((r) => `${r.method} ${r.path}`));
    expect(new Set(routes).size).toBe(routes.length);
  });

  it("expands per-kind routes for every user kind and only those", async () => {
    const custom = await buildManifest(["Alpha", "Beta", "Gamma"]);
    const paths = custom.flatMap((f) => f.routes.map((r) => r.path));
    for (const path of paths.filter((p) => /^\/(Alpha|Beta|Gamma)\//.test(p))) {
      const suffix = path.replace(/^\/[^/]+/, "");
      for (const kind of ["Alpha", "Beta", "Gamma"]) expect(paths).toContain(`/${kind}${suffix}`);
    }
    expect(paths.some((p) => p.startsWith("/User1"))).toBe(false);
  });

  it("names only known secrets", () => {
    for (const fn of manifest) for (const s of fn.secrets) expect(Object.keys(SECRET_ENV)).toContain(s);
  });

  it("resolves every entry to a module exporting a Hono app that serves its routes and a Lambda handler", async () => {
    for (const fn of manifest) {
      const mod = (await import(join(root, `${fn.module}.ts`))) as {
        app?: { fetch: unknown; routes: { method: string; path: string }[] };
        handler?: unknown;
      };
      expect(typeof mod.handler, `${fn.module} handler`).toBe("function");
      expect(typeof mod.app?.fetch, `${fn.module} app`).toBe("function");
      const served = new Set(mod.app?.routes.map((r) => `${r.method} ${r.path}`));
      for (const route of fn.routes)
        expect(served, `${fn.name} serves ${route.method} ${route.path}`).toContain(
          `${route.method} ${route.path}`,
        );
    }
  });
});
