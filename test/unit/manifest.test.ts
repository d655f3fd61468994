import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildManifest, type FunctionSpec, SECRET_ENV } from "../../infra/functions";
import { testEnv } from "../helpers/env";
import { startTestServer, type TestServer } from "../helpers/local-server";

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

/** Headers that legitimately differ between two answers (per request, or with the body length). */
const VARYING = new Set(["x-request-id", "date", "content-length", "connection", "keep-alive"]);

/**
 * Issue #12: the deployed HTTP API sends every unmatched method/path to the `gatewayDefault`
 * function (`$default` route), which must answer exactly as the local server answers an unknown
 * path: 404 problem+json with the shared security headers. The local server ignores that entry
 * (it has no routes) and answers unknown paths itself.
 */
describe("the $default function answers like the local server's unknown path", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("is the one gatewayDefault entry and has no routes", async () => {
    const defaults = (await buildManifest(["User1", "User2"])).filter((f) => f.gatewayDefault);
    expect(defaults.map((f) => [f.module, f.routes])).toEqual([["functions/not-found", []]]);
  });

  it.each([
    ["GET", "/nope"],
    ["POST", "/User1/nope"],
    ["DELETE", "/"],
    ["PUT", "/.well-known/other.json"],
  ])("%s %s", async (method, path) => {
    const local = await fetch(`${server.url}${path}`, { method });
    const { app } = (await import("../../functions/not-found")) as {
      app: { request: (path: string, init: RequestInit) => Promise<Response> };
    };
    const deployed = await app.request(path, { method });
    expect(deployed.status).toBe(404);
    expect(local.status).toBe(404);
    const headers = (r: Response) =>
      Object.fromEntries([...r.headers].filter(([name]) => !VARYING.has(name)).sort());
    expect(headers(deployed)).toEqual(headers(local));
    expect(deployed.headers.get("content-type")).toBe("application/problem+json");
    expect(deployed.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(deployed.headers.get("strict-transport-security")).toContain("max-age=");
    const body = (await deployed.json()) as Record<string, unknown>;
    // The function adds the request id it logs under; the local server's own 404 has none.
    expect(body.request_id).toMatch(/^[0-9a-f-]{36}$/);
    delete body.request_id;
    expect(body).toEqual(await local.json());
    expect(body.code).toBe("not_found");
  });
});
