import packageJson from "../package.json" with { type: "json" };
import { applyPasswordLimit } from "../shared/http/account-schemas";
import type { FunctionContext } from "../shared/http/context";
import { DOCS_ROUTE_PATHS } from "../shared/http/docs-assets";
import { assembleOpenApiDocument, type OpenApiDocument } from "../shared/http/openapi";
import type { OpenApiDefinition, RouteApp } from "../shared/http/route-app";
import { buildManifest, type FunctionSpec, type RouteSpec } from "./functions";

/**
 * The OpenAPI document of the whole API, built from the function manifest: every manifest function
 * with a documented route is imported and the route definitions of its app (`RouteApp`: the same
 * zod schemas that validate requests) are merged into one OpenAPI 3.1 document. A new function
 * appears in the document by being in the manifest; there is no per-route list here.
 *
 * Layering: this lives in `infra/` because it reads the manifest and imports function modules
 * (infra → functions → shared). Nothing under `functions/` or `shared/` imports it: the local
 * runtime hands the document to the docs function through its context, and `npm run openapi`
 * writes it to `.build/openapi.json` for deployment.
 */

/** Options of {@link buildOpenApiDocument}. */
export interface BuildOpenApiOptions {
  /** `info.title` (`APP_NAME`). */
  title: string;
  /** `servers[0].url` (`APP_URL`). */
  serverUrl: string;
  /** User kinds, as configured (`USER_KINDS`). */
  userKinds: readonly string[];
  /** The context each function app is built from (its configuration must list `userKinds`). */
  context: FunctionContext;
}

/**
 * Why a manifest route is deliberately left out of the document, or `undefined` when it must be in
 * it. Two groups are left out:
 * - `/jobs/*`: QStash delivery callbacks. Only QStash calls them, every request must carry a
 *   signature over its sealed body, and no client can build one, so listing them would document an
 *   API nobody may call (DESIGN.md §7).
 * - the documentation function's own pages, assets and `/openapi.json`: not part of the API.
 */
export function undocumentedReason(route: RouteSpec): string | undefined {
  // The specs say the same (`undocumented`); a test checks the two agree.
  if (route.path.startsWith("/jobs/")) return "internal QStash delivery callback";
  if (DOCS_ROUTE_PATHS.includes(route.path)) return "documentation page or asset";
  return undefined;
}

/** The manifest routes the document must describe (every route without an {@link undocumentedReason}). */
export function documentedRoutes(manifest: readonly FunctionSpec[]): RouteSpec[] {
  return manifest.flatMap((fn) => fn.routes.filter((r) => undocumentedReason(r) === undefined));
}

/**
 * Imports a function module by its manifest path. The template literal keeps the import inside
 * `functions/`: esbuild turns it into a glob (`../functions/*.ts`) and bundles every function
 * module into the docs function, so the deployed bundle can import them too.
 */
async function importFunctionApp(fn: FunctionSpec, context: FunctionContext): Promise<RouteApp> {
  const prefix = "functions/";
  if (!fn.module.startsWith(prefix))
    throw new Error(`${fn.name}: module ${fn.module} is not under functions/`);
  const name = fn.module.slice(prefix.length);
  const mod = (await import(`../functions/${name}.ts`)) as {
    createApp?: (ctx: FunctionContext) => RouteApp;
  };
  const app = mod.createApp?.(context);
  if (!app?.openApiDefinitions) throw new Error(`${fn.module} does not export createApp building a RouteApp`);
  return app;
}

const DESCRIPTION = `Account API: register, verify email, log in (OAuth2 password grant), refresh tokens, read and
update your profile, verify a phone by SMS code, reset or change a password, log out, delete the account.
Routes repeat for every user kind (\`/{kind}/...\`); each kind is a separate pool of users.

**Authentication.** Routes with a lock take \`Authorization: Bearer <access token>\` (a JWT from
\`POST /{kind}/login\`). A token is accepted only on its own kind's routes.

**Errors.** Every error is an RFC 9457 problem (\`application/problem+json\`, schema \`Problem\`) with a
stable \`code\` to switch on and the \`request_id\` to quote in a support request. A 422 lists the
offending fields in \`errors\`. A 429 carries \`Retry-After\` (seconds).

Not listed: \`/jobs/*\`, the internal endpoints QStash calls (signed, not a client API).`;

/**
 * Builds the API's OpenAPI 3.1 document from the manifest for `userKinds` (see the file comment).
 * Importing a function module builds its app, so the process configuration must be valid (as in
 * any function's cold start).
 *
 * @throws ConfigError when a function module cannot build its app from the environment.
 * @throws Error when a manifest module does not export a `RouteApp`, or a schema cannot be described.
 */
export async function buildOpenApiDocument(options: BuildOpenApiOptions): Promise<OpenApiDocument> {
  const manifest = await buildManifest([...options.userKinds]);
  const definitions: OpenApiDefinition[] = [];
  for (const fn of manifest) {
    if (!fn.routes.some((r) => undocumentedReason(r) === undefined)) continue;
    const app = await importFunctionApp(fn, options.context);
    definitions.push(...app.openApiDefinitions);
  }
  const document = assembleOpenApiDocument(definitions, {
    title: options.title,
    version: packageJson.version,
    serverUrl: options.serverUrl,
    userKinds: options.userKinds,
    description: DESCRIPTION,
    tagDescriptions: { Operations: "Endpoints for operators and integrators: health, public signing keys." },
  });
  // The schemas are built at module load with the default cap; the document states the configured one.
  return applyPasswordLimit(document, options.context.config.password.maxBytes);
}
