import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { Hono } from "hono";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp as createDocsApp } from "../../functions/docs";
import { buildManifest } from "../../infra/functions";
import { DOCS_ASSETS, DOCS_UIS, type DocsUi } from "../../shared/http/docs-assets";
import { docsPageCsp, locatePackageFile } from "../../shared/http/docs-site";
import { testContext } from "../helpers/context";

/**
 * The docs function over its Hono app (no server): pages with their CSP, assets from npm packages
 * with cache validators and gzip, and the manifest entry that deploys them.
 */
const root = join(import.meta.dirname, "../..");
let app: Hono;

beforeAll(async () => {
  const context = testContext({
    UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
    UPSTASH_REDIS_REST_TOKEN: "t",
    APP_URL: "https://api.example.com",
  });
  app = createDocsApp(context) as unknown as Hono;
});

const assetUrls = (html: string) =>
  [...html.matchAll(/(?:src|href)="(docs\/assets\/[^"]+)"/g)].map((m) => m[1] ?? "");

describe("docs pages", () => {
  it.each(Object.keys(DOCS_UIS) as DocsUi[])(
    "%s page loads only same-origin scripts under a CSP without inline script or eval",
    async (ui) => {
      const res = await app.request(DOCS_UIS[ui].path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toBe(docsPageCsp(ui, "https://api.example.com"));
      const directives = new Map(csp.split("; ").map((d) => [d.split(" ")[0], d]));
      expect(directives.get("script-src")).toBe("script-src 'self'");
      expect(directives.get("default-src")).toBe("default-src 'none'");
      expect(directives.get("connect-src")).toBe("connect-src 'self' https://api.example.com");
      expect(directives.get("frame-ancestors")).toBe("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe-eval|https?:\/\/(?!api\.example\.com)/);
      const html = await res.text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
      const urls = assetUrls(html);
      expect(urls.length).toBe(DOCS_UIS[ui].scripts.length + DOCS_UIS[ui].styles.length);
      for (const url of urls) {
        const asset = await app.request(`/${url}`);
        expect(asset.status, url).toBe(200);
        expect(asset.headers.get("cache-control"), url).toBe("public, max-age=31536000, immutable");
      }
    },
  );
});

describe("docs assets", () => {
  it("serves each npm asset byte for byte, gzip-compressed when accepted, with a working validator", async () => {
    for (const asset of DOCS_ASSETS) {
      if (!("packageFile" in asset)) continue;
      const onDisk = readFileSync(join(root, "node_modules", asset.packageFile));
      const plain = await app.request(`/docs/assets/${asset.name}`);
      expect(plain.status).toBe(200);
      expect(plain.headers.get("content-type")).toBe(asset.contentType);
      expect(plain.headers.get("content-encoding")).toBeNull();
      expect(plain.headers.get("x-content-type-options")).toBe("nosniff");
      expect(plain.headers.get("cache-control"), "unversioned URL").toBe("public, max-age=300");
      expect(Buffer.from(await plain.arrayBuffer()).equals(onDisk)).toBe(true);

      const zipped = await app.request(`/docs/assets/${asset.name}`, {
        headers: { "accept-encoding": "gzip, br" },
      });
      expect(zipped.headers.get("content-encoding")).toBe("gzip");
      expect(zipped.headers.get("vary")).toMatch(/accept-encoding/i);
      const compressed = Buffer.from(await zipped.arrayBuffer());
      expect(compressed.length).toBeLessThan(onDisk.length);
      expect(gunzipSync(compressed).equals(onDisk)).toBe(true);

      const etag = plain.headers.get("etag") ?? "";
      expect(etag).toMatch(/^W\/"[0-9a-f]{16}"$/);
      const again = await app.request(`/docs/assets/${asset.name}`, { headers: { "if-none-match": etag } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe("");
    }
  });

  it("caches a versioned URL for a year only when the version matches the content", async () => {
    const res = await app.request("/docs/assets/swagger-init.js?v=0000000000000000");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
  });

  it("finds package files by walking node_modules, and names a missing one", () => {
    expect(locatePackageFile("swagger-ui-dist/swagger-ui.css")).toBe(
      join(root, "node_modules/swagger-ui-dist/swagger-ui.css"),
    );
    expect(() => locatePackageFile("swagger-ui-dist/no-such-file.js")).toThrow(
      /node_modules\/swagger-ui-dist\/no-such-file\.js/,
    );
  });

  it("serves /openapi.json with a validator that answers 304 when unchanged", async () => {
    const first = await app.request("/openapi.json");
    const etag = first.headers.get("etag") ?? "";
    expect(etag).toMatch(/^"[0-9a-f]{16}"$/);
    expect((await app.request("/openapi.json", { headers: { "if-none-match": etag } })).status).toBe(304);
  });
});

describe("docs manifest entry", () => {
  it("routes every docs path as GET and copies every npm asset into the bundle at the same node_modules path", async () => {
    const docs = (await buildManifest(["User1", "User2"])).find((f) => f.module === "functions/docs");
    expect(docs?.runtime).toBe("node");
    const paths = docs?.routes.map((r) => `${r.method} ${r.path}`) ?? [];
    for (const ui of Object.values(DOCS_UIS)) expect(paths).toContain(`GET ${ui.path}`);
    for (const asset of DOCS_ASSETS) expect(paths).toContain(`GET /docs/assets/${asset.name}`);
    expect(paths).toContain("GET /openapi.json");
    const packaged = DOCS_ASSETS.flatMap((a) => ("packageFile" in a ? [a.packageFile] : []));
    expect(docs?.copyFiles).toEqual([
      ...packaged.map((file) => ({ from: `node_modules/${file}`, to: `node_modules/${file}` })),
      // The OpenAPI document generated at build time (`npm run openapi`).
      { from: ".build/openapi.json", to: "openapi.json" },
    ]);
  });
});
