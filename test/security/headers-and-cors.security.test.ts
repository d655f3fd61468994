import { describe, expect, it } from "vitest";
import * as z from "zod";
import { createFunctionApp, type FunctionAppOptions } from "../../shared/http/app";
import { problems } from "../../shared/http/problem";
import { defineRoute } from "../../shared/http/route-app";
import { createLogger, type Logger } from "../../shared/observability/logger";

const ALLOWED_ORIGIN = "https://app.example.com";
const BODY_LIMIT_BYTES = 1024;
const SECRET_IN_ERROR = "mongodb://admin:hunter2@db.internal:27017 connection refused";

function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return {
    logger: createLogger({ level: "debug", destination: { write: (s: string) => void lines.push(s) } }),
    lines,
  };
}

/** A function app with a route for every outcome the shared layer handles. */
function buildApp(overrides: Partial<FunctionAppOptions> = {}) {
  const app = createFunctionApp({
    name: "headers-test",
    bodyLimitBytes: BODY_LIMIT_BYTES,
    trustedProxyCount: 0,
    corsOrigins: [ALLOWED_ORIGIN],
    logger: createLogger({ level: "silent" }),
    ...overrides,
  });
  app.get("/ok", (c) => c.json({ ok: true }));
  app.post("/echo", async (c) => c.json({ bytes: (await c.req.text()).length }));
  app.get("/boom", () => {
    throw new Error(SECRET_IN_ERROR);
  });
  app.get("/unauthorized", () => {
    throw problems.unauthorized();
  });
  app.openapi(
    defineRoute({
      method: "post",
      path: "/things",
      request: {
        body: { content: { "application/json": { schema: z.object({ name: z.string().min(1).max(50) }) } } },
      },
      responses: { 200: { description: "created" } },
    }),
    (c) => c.json({ ok: true }, 200),
  );
  return app;
}

type Case = [label: string, expectedStatus: number, request: () => Request];
const json = (body: string, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body,
});
const cases: Case[] = [
  ["200 success", 200, () => new Request("http://x/ok")],
  ["404 unknown route", 404, () => new Request("http://x/nope")],
  [
    "413 body over the limit (declared Content-Length)",
    413,
    () =>
      new Request("http://x/echo", {
        ...json("x".repeat(BODY_LIMIT_BYTES + 1)),
        headers: { "content-length": String(BODY_LIMIT_BYTES + 1) },
      }),
  ],
  [
    "413 body over the limit (no Content-Length, streamed)",
    413,
    () => new Request("http://x/echo", json("x".repeat(5000))),
  ],
  ["422 validation failure", 422, () => new Request("http://x/things", json(JSON.stringify({ name: 42 })))],
  ["400 malformed JSON", 400, () => new Request("http://x/things", json("{not json"))],
  ["401 thrown AuthError", 401, () => new Request("http://x/unauthorized")],
  ["500 unexpected Error", 500, () => new Request("http://x/boom")],
];

describe("security headers on every response of a function app", () => {
  const app = buildApp();

  it.each(cases)(
    "%s carries HSTS, nosniff, DENY framing, CSP, Referrer/Permissions policy, COOP/CORP",
    async (_, status, req) => {
      const res = await app.request(req());
      expect(res.status).toBe(status);
      const h = res.headers;
      expect(h.get("strict-transport-security")).toMatch(/max-age=\d{8,}; includeSubDomains/);
      expect(h.get("x-content-type-options")).toBe("nosniff");
      expect(h.get("x-frame-options")).toBe("DENY");
      const csp = h.get("content-security-policy") ?? "";
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("default-src 'none'");
      expect(h.get("referrer-policy")).toBe("no-referrer");
      expect(h.get("permissions-policy")).toMatch(/camera=\(\)/);
      expect(h.get("cross-origin-opener-policy")).toBe("same-origin");
      expect(h.get("cross-origin-resource-policy")).toBe("same-origin");
      expect(h.get("x-request-id")).toBeTruthy();
      expect(h.get("x-powered-by")).toBeNull();
      if (status >= 400) {
        expect(h.get("content-type")).toBe("application/problem+json");
        const body = (await res.json()) as Record<string, unknown>;
        expect(body.status).toBe(status);
        expect(typeof body.code).toBe("string");
        expect(body.request_id).toBe(h.get("x-request-id"));
      }
    },
  );

  it("a 500 is generic: code internal_error and the request id, nothing of the error's message or stack", async () => {
    const { logger, lines } = captureLogger();
    const res = await buildApp({ logger }).request("/boom");
    expect(res.status).toBe(500);
    const text = await res.text();
    const body = JSON.parse(text) as Record<string, unknown>;
    expect(body).toEqual({
      type: "urn:problem-type:auth:internal_error",
      title: "Internal Server Error",
      status: 500,
      detail: "An unexpected error occurred",
      code: "internal_error",
      request_id: res.headers.get("x-request-id"),
    });
    for (const leak of ["hunter2", "mongodb", "db.internal", "connection refused", "Error:", "stack"]) {
      expect(text).not.toContain(leak);
    }
    // The cause goes to the log instead.
    expect(lines.some((l) => l.includes('"code":"internal_error"'))).toBe(true);
  });

  it("a 422 names the field, never echoes the submitted value", async () => {
    const res = await app.request("/things", json(JSON.stringify({ name: `${"x".repeat(60)}SECRETVALUE` })));
    expect(res.status).toBe(422);
    const text = await res.text();
    expect(text).not.toContain("SECRETVALUE");
    expect(JSON.parse(text)).toMatchObject({ code: "validation_failed", errors: [{ field: "name" }] });
  });
});

describe("CORS", () => {
  const app = buildApp();
  const preflight = (origin: string) =>
    app.request("/things", {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, authorization",
      },
    });

  it("allows a preflight from a listed origin, echoing exactly that origin", async () => {
    const res = await preflight(ALLOWED_ORIGIN);
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(res.headers.get("vary")?.toLowerCase()).toContain("origin");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
  });

  it("gives an unlisted origin (or a look-alike) no Access-Control-Allow-Origin", async () => {
    for (const origin of [
      "https://evil.example",
      "https://app.example.com.evil.example",
      "null",
      "http://app.example.com",
    ]) {
      const res = await preflight(origin);
      expect(res.headers.get("access-control-allow-origin"), origin).toBeNull();
    }
  });

  it("exposes the rate-limit and request-id headers to a listed origin on actual requests", async () => {
    const res = await app.request("/ok", { headers: { origin: ALLOWED_ORIGIN } });
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
    const exposed = res.headers.get("access-control-expose-headers")?.toLowerCase() ?? "";
    for (const h of [
      "retry-after",
      "ratelimit-limit",
      "ratelimit-remaining",
      "ratelimit-reset",
      "x-request-id",
    ]) {
      expect(exposed).toContain(h);
    }
    const other = await app.request("/ok", { headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("never sends CORS headers when no origin is configured", async () => {
    const res = await buildApp({ corsOrigins: [] }).request("/ok", { headers: { origin: ALLOWED_ORIGIN } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("createFunctionApp refuses '*' in corsOrigins", () => {
    expect(() => buildApp({ corsOrigins: ["*"] })).toThrow(/"\*" is not an allowed CORS origin/);
    expect(() => buildApp({ corsOrigins: [ALLOWED_ORIGIN, "*"] })).toThrow(/CORS/);
  });
});
