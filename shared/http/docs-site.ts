import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import type { Context, Hono } from "hono";
import { lazy } from "../async";
import type { AppEnv } from "./app";
import {
  DOCS_ASSET_PREFIX,
  DOCS_ASSETS,
  DOCS_UIS,
  type DocsAsset,
  type DocsUi,
  OPENAPI_JSON_PATH,
} from "./docs-assets";
import { escapeHtml } from "./pages";

/**
 * The documentation site: `GET /openapi.json` and the Swagger UI, ReDoc and Scalar pages with
 * their assets, read from npm packages at run time (Node only: it reads files). Each page gets a
 * CSP that allows exactly what its UI needs (see {@link docsPageCsp}).
 */

/** An asset loaded into memory, with its gzip form computed on first demand. */
interface LoadedAsset {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  /** First 16 hex digits of the SHA-256 of the body: the `?v=` cache-busting value and the ETag. */
  version: string;
  gzipped(): Promise<Uint8Array<ArrayBuffer>>;
}

const gzipAsync = promisify(gzip);

/** A year: versioned asset URLs never change content (RFC 9111 §5.2.2.1, `immutable` RFC 8246). */
const IMMUTABLE = "public, max-age=31536000, immutable";
/** Unversioned asset URLs and the document: short, so a deploy is picked up within minutes. */
const SHORT = "public, max-age=300";

/**
 * Finds `node_modules/<packageFile>` the way Node finds packages (walking up from this module), but
 * by file path, so it works both in the repository and in a bundle where SST copied only the file.
 * @throws Error naming the file when no `node_modules` folder holds it.
 */
export function locatePackageFile(packageFile: string): string {
  const require = createRequire(import.meta.url);
  const packageName = packageFile.startsWith("@")
    ? packageFile.split("/").slice(0, 2).join("/")
    : (packageFile.split("/")[0] ?? packageFile);
  for (const dir of require.resolve.paths(packageName) ?? []) {
    const candidate = join(dir, packageFile);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`docs asset not found: node_modules/${packageFile} (is the package installed / copied?)`);
}

async function loadAsset(asset: DocsAsset): Promise<LoadedAsset> {
  const body =
    "packageFile" in asset
      ? new Uint8Array(await readFile(locatePackageFile(asset.packageFile)))
      : new TextEncoder().encode(asset.text);
  let compressed: Promise<Uint8Array<ArrayBuffer>> | undefined;
  return {
    body,
    contentType: asset.contentType,
    version: createHash("sha256").update(body).digest("hex").slice(0, 16),
    gzipped: () => {
      compressed ??= gzipAsync(body).then((b) => new Uint8Array(b));
      return compressed;
    },
  };
}

/**
 * The Content-Security-Policy of a documentation page. Common to all three: scripts only from this
 * origin (the bundles and bootstrap scripts are files, so no inline script, nonce or hash), no
 * `eval`, fetches only to this origin and the API's (`apiOrigin`, for "try it"), images from this
 * origin and `data:` URIs (icons the bundles embed), no plugins, no framing, no base or form
 * targets. Styles allow `'unsafe-inline'` because all three UIs inject `<style>` elements at run
 * time (React/styled-components, Vue); injected CSS cannot run script. ReDoc also needs
 * `worker-src blob:`: its search index runs in a Worker it creates from a Blob.
 */
export function docsPageCsp(ui: DocsUi, apiOrigin: string): string {
  const connect = apiOrigin ? `'self' ${apiOrigin}` : "'self'";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${connect}`,
    ...(ui === "redoc" ? ["worker-src blob:"] : []),
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

const TITLES: Record<DocsUi, string> = {
  swagger: "API docs (Swagger UI)",
  redoc: "API reference (ReDoc)",
  scalar: "API reference (Scalar)",
};

/** The HTML shell of a documentation page; asset URLs are relative (the API may sit under a path prefix). */
export function renderDocsPage(ui: DocsUi, appName: string, versions: ReadonlyMap<string, string>): string {
  const spec = DOCS_UIS[ui];
  const href = (name: string) =>
    escapeHtml(`${DOCS_ASSET_PREFIX.slice(1)}${name}?v=${versions.get(name) ?? "unversioned"}`);
  const styles = spec.styles.map((s: string) => `<link rel="stylesheet" href="${href(s)}">`).join("");
  const scripts = spec.scripts.map((s: string) => `<script src="${href(s)}"></script>`).join("\n");
  const mount =
    ui === "swagger"
      ? `<div id="swagger-ui"></div>`
      : ui === "redoc"
        ? `<div id="redoc"></div>`
        : `<div id="app"></div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(`${TITLES[ui]} · ${appName}`)}</title>
<style>body{margin:0}</style>${styles}</head>
<body>${mount}
${scripts}
</body></html>`;
}

/** Options of {@link registerDocsRoutes}. */
export interface DocsSiteOptions {
  /** Shown in page titles. */
  appName: string;
  /** The API's public base URL (`APP_URL`); its origin may be fetched by the "try it" features. */
  apiUrl: string;
  /** Produces the OpenAPI document; called once, on the first request that needs it. */
  document(): Promise<unknown>;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "";
  }
}

function acceptsGzip(c: Context): boolean {
  return /\bgzip\b/i.test(c.req.header("accept-encoding") ?? "");
}

/**
 * Adds the documentation routes to a function app (all `GET`): {@link OPENAPI_JSON_PATH}, the
 * three pages of {@link DOCS_UIS}, and every asset under {@link DOCS_ASSET_PREFIX}. Assets are
 * read from disk once per cold start, on first use. An asset URL whose `?v=` matches the content
 * hash is cached for a year (`immutable`); any other for five minutes. Assets honour
 * `If-None-Match` (304) and are sent gzip-compressed when the client accepts it (the bundles are
 * megabytes; Lambda responses are capped at 6 MB).
 */
export function registerDocsRoutes(app: Hono<AppEnv>, options: DocsSiteOptions): void {
  const document = lazy(async () => {
    const json = JSON.stringify(await options.document());
    return { json, etag: `"${createHash("sha256").update(json).digest("hex").slice(0, 16)}"` };
  });
  const assets = new Map(DOCS_ASSETS.map((a) => [a.name, lazy(() => loadAsset(a))]));
  const apiOrigin = originOf(options.apiUrl);

  app.get(OPENAPI_JSON_PATH, async (c) => {
    const { json, etag } = await document();
    const headers = { etag, "cache-control": SHORT };
    if (c.req.header("if-none-match") === etag) return c.body(null, 304, headers);
    return c.body(json, 200, { ...headers, "content-type": "application/json; charset=utf-8" });
  });

  for (const [ui, spec] of Object.entries(DOCS_UIS) as [DocsUi, (typeof DOCS_UIS)[DocsUi]][]) {
    app.get(spec.path, async (c) => {
      const names: string[] = [...spec.styles, ...spec.scripts];
      const versions = new Map<string, string>();
      for (const name of names) {
        const load = assets.get(name);
        if (load) versions.set(name, (await load()).version);
      }
      return c.body(renderDocsPage(ui, options.appName, versions), 200, {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": docsPageCsp(ui, apiOrigin),
        "cache-control": "no-cache",
      });
    });
  }

  for (const [name, load] of assets) {
    app.get(`${DOCS_ASSET_PREFIX}${name}`, async (c) => {
      const asset = await load();
      // Weak: the same validator covers the gzip and identity forms (RFC 9110 §8.8.1).
      const etag = `W/"${asset.version}"`;
      const headers: Record<string, string> = {
        etag,
        "cache-control": c.req.query("v") === asset.version ? IMMUTABLE : SHORT,
        vary: "Accept-Encoding",
      };
      if (c.req.header("if-none-match") === etag) return c.body(null, 304, headers);
      headers["content-type"] = asset.contentType;
      if (acceptsGzip(c)) {
        headers["content-encoding"] = "gzip";
        return c.body(await asset.gzipped(), 200, headers);
      }
      return c.body(asset.body, 200, headers);
    });
  }
}
