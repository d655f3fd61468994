/**
 * The static files of the API documentation pages (`/docs` Swagger UI, `/redoc` ReDoc, `/scalar`
 * Scalar API Reference), served by the docs function itself so the pages work offline and under a
 * CSP with `script-src 'self'` (no CDN, no inline script). Pure data: the manifest reads it for the
 * docs function's routes and the files SST must copy; `docs-site.ts` serves it.
 */

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/** One file under `/docs/assets/`: either a file of an npm package, or a small script written here. */
export type DocsAsset =
  | {
      /** File name under `/docs/assets/`. */
      name: string;
      contentType: string;
      /** Path below `node_modules/` (package name, then the file inside it). */
      packageFile: string;
    }
  | { name: string; contentType: string; text: string };

/** URL path prefix of the assets. */
export const DOCS_ASSET_PREFIX = "/docs/assets/";

/** Path of the OpenAPI document. */
export const OPENAPI_JSON_PATH = "/openapi.json";

/**
 * Bootstrap scripts. Each runs after its UI bundle (both at the end of `<body>`), loads the
 * document from `openapi.json` relative to the page, and turns off every feature that would reach
 * a third-party host: Swagger UI's online validator badge, Scalar's web fonts, telemetry and agent.
 */
const SWAGGER_INIT = `"use strict";
window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  validatorUrl: null,
  displayRequestDuration: true,
  persistAuthorization: false,
});
`;

const REDOC_INIT = `"use strict";
Redoc.init(
  new URL("openapi.json", document.baseURI).href,
  { expandResponses: "200,201", hideHostname: false, jsonSampleExpandLevel: 3 },
  document.getElementById("redoc"),
);
`;

const SCALAR_INIT = `"use strict";
Scalar.createApiReference("#app", {
  url: new URL("openapi.json", document.baseURI).href,
  withDefaultFonts: false,
  telemetry: false,
  agent: { disabled: true },
  showDeveloperTools: "never",
  showToolbar: "never",
  documentDownloadType: "json",
});
`;

/** Every file the docs pages load. */
export const DOCS_ASSETS: readonly DocsAsset[] = [
  { name: "swagger-ui-bundle.js", contentType: JS, packageFile: "swagger-ui-dist/swagger-ui-bundle.js" },
  { name: "swagger-ui.css", contentType: CSS, packageFile: "swagger-ui-dist/swagger-ui.css" },
  { name: "swagger-init.js", contentType: JS, text: SWAGGER_INIT },
  { name: "redoc.standalone.js", contentType: JS, packageFile: "redoc/bundles/redoc.standalone.js" },
  { name: "redoc-init.js", contentType: JS, text: REDOC_INIT },
  {
    name: "scalar-api-reference.js",
    contentType: JS,
    packageFile: "@scalar/api-reference/dist/browser/standalone.js",
  },
  { name: "scalar-init.js", contentType: JS, text: SCALAR_INIT },
];

/** The three documentation UIs: page path, and the assets it loads (in order). */
export const DOCS_UIS = {
  swagger: {
    path: "/docs",
    styles: ["swagger-ui.css"],
    scripts: ["swagger-ui-bundle.js", "swagger-init.js"],
  },
  redoc: { path: "/redoc", styles: [], scripts: ["redoc.standalone.js", "redoc-init.js"] },
  scalar: { path: "/scalar", styles: [], scripts: ["scalar-api-reference.js", "scalar-init.js"] },
} as const satisfies Record<string, { path: string; styles: string[]; scripts: string[] }>;

/** Name of a documentation UI. */
export type DocsUi = keyof typeof DOCS_UIS;

/** Every path the docs function serves (all `GET`): the document, the three pages, each asset. */
export const DOCS_ROUTE_PATHS: readonly string[] = [
  OPENAPI_JSON_PATH,
  ...Object.values(DOCS_UIS).map((ui) => ui.path),
  ...DOCS_ASSETS.map((a) => `${DOCS_ASSET_PREFIX}${a.name}`),
];

/**
 * Files SST must copy into the docs function's bundle (`copyFiles`), to the same place below
 * `node_modules/`, where the function finds them at run time; the bundler never inlines them.
 */
export function docsCopyFiles(): { from: string; to: string }[] {
  return DOCS_ASSETS.flatMap((a) =>
    "packageFile" in a
      ? [{ from: `node_modules/${a.packageFile}`, to: `node_modules/${a.packageFile}` }]
      : [],
  );
}
