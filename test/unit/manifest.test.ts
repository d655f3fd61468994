import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildManifest, type FunctionSpec, routeTableOf, SECRET_ENV } from "../../infra/functions";
import { parseConfig } from "../../shared/config/schema";
import type { ApiRoute } from "../../shared/http/route-table";
import { createContext } from "../../shared/wiring/context";
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
 * function (`$default` route), which must answer exactly as the local server answers: 404
 * problem+json for an unknown path, 405 with `Allow` for a known path asked with another method,
 * with the shared security headers. The local server sends unmatched requests to the same function;
 * deployed, its route table is the `routes.json` that `npm run openapi` writes (generated here).
 */
describe("the $default function answers like the local server's unmatched requests", () => {
  let server: TestServer;
  let deployed: { request: (path: string, init: RequestInit) => Response | Promise<Response> };
  const buildDir = mkdtempSync(join(tmpdir(), "auth-build-"));
  beforeAll(async () => {
    server = await startTestServer();
    execFileSync(
      process.execPath,
      ["--import", "tsx", "infra/write-openapi.ts", join(buildDir, "openapi.json")],
      {
        env: { ...process.env, LOG_LEVEL: "silent" },
        stdio: "ignore",
      },
    );
    const { createApp } = await import("../../functions/not-found");
    const { spec } = await import("../../functions/not-found.endpoint");
    const context = createContext(parseConfig(process.env, { secrets: spec.secrets }), {
      routeTable: async () => JSON.parse(readFileSync(join(buildDir, "routes.json"), "utf8")) as ApiRoute[],
    });
    deployed = createApp(context);
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(buildDir, { recursive: true, force: true });
  });

  it("is the one gatewayDefault entry and has no routes", async () => {
    const defaults = (await buildManifest(["User1", "User2"])).filter((f) => f.gatewayDefault);
    expect(defaults.map((f) => [f.module, f.routes])).toEqual([["functions/not-found", []]]);
  });

  it("is deployed with the generated route table of every route", async () => {
    const routes = JSON.parse(readFileSync(join(buildDir, "routes.json"), "utf8")) as ApiRoute[];
    expect(routes).toEqual(routeTableOf(await buildManifest(server.context.config.userKinds)));
    const fn = (await buildManifest(["User1"])).find((f) => f.gatewayDefault);
    expect(fn?.copyFiles).toEqual([{ from: ".build/routes.json", to: "routes.json" }]);
  });

  it.each([
    ["GET", "/nope", 404, null],
    ["POST", "/User1/nope", 404, null],
    ["DELETE", "/", 404, null],
    ["PUT", "/.well-known/other.json", 404, null],
    ["DELETE", "/User1/login", 405, "POST"],
    ["PUT", "/User2/logout", 405, "GET, POST, HEAD"],
    ["POST", "/.well-known/jwks.json", 405, "GET, HEAD"],
  ])("%s %s → %i", async (method, path, status, allow) => {
    const local = await fetch(`${server.url}${path}`, { method });
    const answer = await deployed.request(path, { method });
    expect(answer.status).toBe(status);
    expect(local.status).toBe(status);
    expect(answer.headers.get("allow")).toBe(allow);
    const headers = (r: Response) =>
      Object.fromEntries([...r.headers].filter(([name]) => !VARYING.has(name)).sort());
    expect(headers(answer)).toEqual(headers(local));
    expect(answer.headers.get("content-type")).toBe("application/problem+json");
    expect(answer.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(answer.headers.get("strict-transport-security")).toContain("max-age=");
    const body = (await answer.json()) as Record<string, unknown>;
    const localBody = (await local.json()) as Record<string, unknown>;
    // Each carries the id of its own request.
    expect(body.request_id).toMatch(/^[0-9a-f-]{36}$/);
    delete body.request_id;
    delete localBody.request_id;
    expect(body).toEqual(localBody);
    expect(body.code).toBe(status === 404 ? "not_found" : "method_not_allowed");
  });
});
