import { join } from "node:path";
import { compileErrors, validate } from "@readme/openapi-parser";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp as createDocsApp } from "../../functions/docs";
import { buildManifest, type FunctionSpec } from "../../infra/functions";
import { documentedRoutes, undocumentedReason } from "../../infra/openapi";
import packageJson from "../../package.json" with { type: "json" };
import { ERRORS, isErrorCode } from "../../shared/errors";
import { DOCS_ASSET_PREFIX } from "../../shared/http/docs-assets";
import { operationIdFor, repairRegexPatterns } from "../../shared/http/openapi";
import { testContext } from "../helpers/context";
import { createOpenApiValidator, type OpenApiDoc, pointerToken } from "../helpers/openapi-validator";

/**
 * The OpenAPI document as the docs function serves it (`GET /openapi.json`), checked against the
 * OpenAPI 3.1 specification and against the function manifest it is built from.
 */
const root = join(import.meta.dirname, "../..");
const KINDS = ["User1", "User2"];
const APP_NAME = "Docs Test Service";
const APP_URL = "https://auth.example.com";

let doc: OpenApiDoc;
let manifest: FunctionSpec[];

const operationsOf = (d: OpenApiDoc) =>
  Object.entries(d.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ method, path, operation })),
  );

beforeAll(async () => {
  const context = testContext({
    UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
    UPSTASH_REDIS_REST_TOKEN: "t",
    USER_KINDS: KINDS.join(","),
    APP_NAME,
    APP_URL,
  });
  manifest = await buildManifest(KINDS);
  const app = createDocsApp(context);
  const res = await app.request("/openapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  doc = (await res.json()) as OpenApiDoc;
});

describe("OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document by @readme/openapi-parser", async () => {
    expect(doc.openapi).toBe("3.1.0");
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
    expect(result.warnings).toEqual([]);
  });

  it("describes every manifest route of every kind (method + path) and no route the manifest lacks", () => {
    const expected = documentedRoutes(manifest).map((r) => `${r.method} ${r.path}`);
    const described = operationsOf(doc).map((o) => `${o.method.toUpperCase()} ${o.path}`);
    expect(described.sort()).toEqual([...new Set(expected)].sort());
    for (const kind of KINDS) {
      for (const suffix of ["create", "login", "verify", "update", "logout", "delete"]) {
        expect(doc.paths[`/${kind}/${suffix}`], `/${kind}/${suffix}`).toBeDefined();
      }
      expect(doc.paths[`/${kind}/`]?.get).toBeDefined();
    }
  });

  it("leaves out only the internal QStash callbacks (deliveries and scheduled jobs) and the docs function's own pages and assets", () => {
    const excluded = manifest.flatMap((f) => f.routes).filter((r) => undocumentedReason(r) !== undefined);
    const notAssets = excluded
      .filter((r) => !r.path.startsWith(DOCS_ASSET_PREFIX))
      .map((r) => `${r.method} ${r.path}`);
    expect(notAssets.sort()).toEqual(
      [
        "GET /docs",
        "GET /openapi.json",
        "GET /redoc",
        "GET /scalar",
        "POST /jobs/email",
        "POST /jobs/sms",
        "POST /jobs/bloom-rebuild",
        "POST /jobs/purge-unverified",
        "POST /jobs/rotate-keys",
        "POST /jobs/audit-retention",
      ].sort(),
    );
    expect(
      excluded.filter((r) => r.path.startsWith(DOCS_ASSET_PREFIX)).every((r) => r.method === "GET"),
    ).toBe(true);
    for (const route of excluded) expect(doc.paths[route.path], route.path).toBeUndefined();
  });

  it("takes its title from APP_NAME, its version from package.json and its server from APP_URL", () => {
    expect(doc.info).toMatchObject({ title: APP_NAME, version: packageJson.version });
    expect(doc.servers).toEqual([{ url: APP_URL }]);
  });

  it("marks the account routes that need a token with the HTTP bearer (JWT) scheme, and only those", () => {
    expect(doc.components?.securitySchemes?.bearerAuth).toMatchObject({
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
    });
    for (const { method, path, operation } of operationsOf(doc)) {
      for (const requirement of operation.security ?? []) {
        for (const name of Object.keys(requirement)) {
          expect(doc.components?.securitySchemes?.[name], `${method} ${path} uses ${name}`).toBeDefined();
        }
      }
    }
    for (const kind of KINDS) {
      const bearer = [{ bearerAuth: [] }];
      expect(doc.paths[`/${kind}/`]?.get?.security).toEqual(bearer);
      expect(doc.paths[`/${kind}/update`]?.put?.security).toEqual(bearer);
      expect(doc.paths[`/${kind}/logout`]?.post?.security).toEqual(bearer);
      expect(doc.paths[`/${kind}/delete`]?.delete?.security).toEqual(bearer);
      expect(doc.paths[`/${kind}/create`]?.post?.security).toBeUndefined();
      expect(doc.paths[`/${kind}/login`]?.post?.security).toBeUndefined();
    }
  });

  it("describes every 4xx response as application/problem+json with the Problem schema (or an HTML page)", () => {
    const problem = doc.components?.schemas?.Problem as { required: string[] };
    expect(problem.required).toEqual(expect.arrayContaining(["type", "title", "status", "detail", "code"]));
    for (const { method, path, operation } of operationsOf(doc)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!status.startsWith("4")) continue;
        const where = `${method} ${path} ${status}`;
        const content = response.content ?? {};
        // Pages for people (a link opened in a browser) answer text/html; every machine answer is a problem.
        expect(Object.keys(content).length, where).toBeGreaterThan(0);
        const machine = Object.keys(content).filter((t) => t !== "text/html");
        if (machine.length === 0) continue;
        expect(machine, where).toEqual(["application/problem+json"]);
        expect(content["application/problem+json"]?.schema, where).toEqual({
          $ref: "#/components/schemas/Problem",
        });
      }
      const tooMany = operation.responses["429"];
      if (tooMany) expect(tooMany.headers?.["Retry-After"], `${method} ${path} 429`).toBeDefined();
    }
  });

  it("lists, per route and status, the catalogue codes each problem response can carry", () => {
    let listed = 0;
    for (const { method, path, operation } of operationsOf(doc)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!response.content?.["application/problem+json"]) continue;
        const where = `${method} ${path} ${status}`;
        const codes = (response as { "x-problem-codes"?: string[] })["x-problem-codes"];
        // Pages that answer HTML or problem+json by Accept document their one code in the description.
        if (codes === undefined) {
          expect(response.description, where).toMatch(/`[a-z_]+`/);
          continue;
        }
        expect(codes.length, where).toBeGreaterThan(0);
        for (const code of codes) {
          expect(isErrorCode(code), `${where}: ${code}`).toBe(true);
          if (isErrorCode(code)) expect(String(ERRORS[code].status), `${where}: ${code}`).toBe(status);
        }
        listed++;
      }
    }
    expect(listed).toBeGreaterThan(100);
    // e.g. the login route names what a client must handle.
    const login = doc.paths["/User1/login"]?.post?.responses ?? {};
    expect((login["401"] as { "x-problem-codes"?: string[] })["x-problem-codes"]).toEqual([
      "invalid_credentials",
    ]);
  });

  it("gives every operation a unique operationId, a summary and a declared tag; user kinds are the first tags", () => {
    const ids = operationsOf(doc).map((o) => o.operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const declared = (doc.tags as { name: string }[]).map((t) => t.name);
    expect(declared.slice(0, KINDS.length)).toEqual(KINDS);
    for (const { method, path, operation } of operationsOf(doc)) {
      expect((operation as { summary?: string }).summary, `${method} ${path}`).toBeTruthy();
      expect(operation.tags?.length, `${method} ${path}`).toBeGreaterThan(0);
      for (const tag of operation.tags ?? []) expect(declared).toContain(tag);
    }
    expect(doc.paths["/User1/login"]?.post?.operationId).toBe("postUser1Login");
    expect(operationIdFor("get", "/User1/")).toBe("getUser1");
  });

  it("carries an example for every property of the main request and response schemas", () => {
    const schemas = doc.components?.schemas as Record<string, { properties: Record<string, object> }>;
    for (const name of [
      "RegisterRequest",
      "RegisterResponse",
      "TokenResponse",
      "Profile",
      "Problem",
      "Message",
    ]) {
      for (const [prop, schema] of Object.entries(schemas[name]?.properties ?? {})) {
        const has = "example" in schema || "enum" in schema || "const" in schema;
        expect(has, `${name}.${prop} has an example`).toBe(true);
      }
    }
  });

  it("has examples that are valid against the schemas they illustrate", () => {
    const validator = createOpenApiValidator(doc);
    let checked = 0;
    const walk = (node: unknown, pointer: string) => {
      if (node === null || typeof node !== "object") return;
      if (Array.isArray(node)) {
        for (const [i, item] of node.entries()) walk(item, `${pointer}/${i}`);
        return;
      }
      const record = node as Record<string, unknown>;
      const isSchema = ["type", "properties", "$ref", "anyOf", "oneOf", "allOf"].some((k) => k in record);
      if (isSchema && "example" in record) {
        checked += 1;
        expect(validator.validateAt(pointer, record.example), `example at ${pointer}`).toEqual([]);
      }
      for (const [key, value] of Object.entries(record)) {
        if (key !== "example") walk(value, `${pointer}/${pointerToken(key)}`);
      }
    };
    walk(doc.components?.schemas, "/components/schemas");
    walk(doc.paths, "/paths");
    expect(checked).toBeGreaterThan(20);
  });

  it("writes regex patterns without their flags, so each compiles as a unicode regex", () => {
    const patterns: string[] = [];
    JSON.stringify(doc, (key, value) => {
      if (key === "pattern" && typeof value === "string") patterns.push(value);
      return value;
    });
    expect(patterns.length).toBeGreaterThan(0);
    for (const pattern of patterns) {
      expect(() => new RegExp(pattern, "u"), pattern).not.toThrow();
      expect(pattern, "no trailing /flags").not.toMatch(/[^\\]\/[a-z]+$/);
    }
    const sample = {
      a: { pattern: "^x$/u" },
      b: [{ pattern: "a\\/u" }, { pattern: "^[/]u$" }],
      c: { pattern: "^x$/i" },
    };
    repairRegexPatterns(sample);
    expect(sample).toEqual({
      a: { pattern: "^x$" },
      b: [{ pattern: "a\\/u" }, { pattern: "^[/]u$" }],
      c: { pattern: "^x$/i" },
    });
  });

  // Until issue #12 the docs bundle imported every function to build this document at run time;
  // the document is now generated at build time (`npm run openapi`), so the bundle holds none.
  it("is served by a docs function whose bundle contains no other function module", async () => {
    const result = await build({
      entryPoints: [join(root, "functions/docs.ts")],
      bundle: true,
      write: false,
      platform: "node",
      format: "esm",
      packages: "external",
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    const others = manifest.filter((f) => f.module !== "functions/docs");
    expect(others.length).toBeGreaterThan(10);
    for (const fn of others) expect(inputs, fn.module).not.toContain(`${fn.module}.ts`);
  });
});
