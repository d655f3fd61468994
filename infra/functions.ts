/**
 * The function manifest: every deployed function, read from the endpoint specs colocated with the
 * functions (`functions/<name>.endpoint.ts`, see `shared/http/endpoint.ts`). `sst.config.ts`, the
 * local runtime, the OpenAPI document and the tests all read it, so a function cannot exist in one
 * place and be missing in another. Adding an endpoint is adding its two files under `functions/`
 * (the spec and the app) and its use-case: nothing here lists them.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseUserKinds } from "../shared/config/user-kinds";
import { type EndpointSpec, type HttpMethod, resourceName } from "../shared/http/endpoint";
import type { ApiRoute } from "../shared/http/route-table";

export { SECRET_ENV, type SecretName } from "../shared/config/secrets";
export type { HttpMethod };

/**
 * The Lambda runtime of every deployed function: the newest SST 4.17 offers (and its default,
 * `platform/src/components/aws/function.ts`). `sst.config.ts` deploys with it and the SST-faithful
 * build test (`test/build/sst-esbuild.ts`) derives esbuild's target from it.
 */
export const LAMBDA_NODE_RUNTIME = "nodejs24.x";

/**
 * How SST bundles every Node function (`nodejs` props of `sst.aws.Function`, beside `install`):
 * ESM code splitting, so what a function imports dynamically (store adapters, vendor SDKs, the
 * password hasher and zxcvbn's dictionaries) is a chunk loaded on first use instead of code parsed
 * at every cold start; minified, for fewer bytes to read and parse. The SST-faithful build test and
 * the cold-start benchmark build with the same props.
 */
export const LAMBDA_NODEJS_BUILD = { splitting: true, minify: true } as const;

/** One route served by a function: method and production path (e.g. `POST /User1/login`). */
export interface RouteSpec {
  method: HttpMethod;
  path: string;
}

/** One deployed function, its routes expanded for every user kind. */
export interface FunctionSpec {
  /** Resource name (PascalCase of the spec name), e.g. `ForgetPassword`. */
  name: string;
  /** Module path from the repo root without extension; it exports `createApp`, `app` and `handler`. */
  module: string;
  /** Every route it serves, already expanded for every user kind. */
  routes: RouteSpec[];
  runtime: EndpointSpec["runtime"];
  memoryMB: number;
  timeoutSeconds: number;
  secrets: EndpointSpec["secrets"];
  nodeInstall?: readonly string[];
  copyFiles?: readonly { from: string; to: string }[];
  /**
   * This function is the HTTP API's `$default` route (every method/path no other route matches).
   * It has no `routes`; the local server ignores it (it answers unknown paths itself).
   */
  gatewayDefault?: true;
  /** The spec it was built from. */
  endpoint: EndpointSpec;
}

const SPEC_SUFFIX = ".endpoint.ts";
const FUNCTIONS_DIR = fileURLToPath(new URL("../functions/", import.meta.url));

/** The spec stems present under `functions/` (one per `<stem>.endpoint.ts`), sorted. */
export function endpointStems(): string[] {
  return readdirSync(FUNCTIONS_DIR)
    .filter((f) => f.endsWith(SPEC_SUFFIX))
    .map((f) => f.slice(0, -SPEC_SUFFIX.length))
    .sort();
}

/**
 * Imports every endpoint spec under `functions/`. The template literal keeps the import inside
 * `functions/` (a bundler turns it into a glob over `*.endpoint.ts`); spec modules are data only.
 * @throws Error when a spec module's `spec.name` is not its file's stem.
 */
export async function loadEndpointSpecs(): Promise<EndpointSpec[]> {
  const specs: EndpointSpec[] = [];
  for (const stem of endpointStems()) {
    const mod = (await import(`../functions/${stem}.endpoint.ts`)) as { spec?: EndpointSpec };
    if (!mod.spec) throw new Error(`functions/${stem}${SPEC_SUFFIX} does not export a spec`);
    if (mod.spec.name !== stem)
      throw new Error(`functions/${stem}${SPEC_SUFFIX}: spec name ${mod.spec.name} is not the file's stem`);
    specs.push(mod.spec);
  }
  return specs;
}

/** The manifest entry of one spec, its per-kind routes expanded for `kinds`. */
export function functionSpecOf(spec: EndpointSpec, kinds: readonly string[]): FunctionSpec {
  const routes = spec.perKind
    ? kinds.flatMap((kind) => spec.routes.map((r) => ({ method: r.method, path: `/${kind}${r.path}` })))
    : spec.routes.map((r) => ({ method: r.method, path: r.path }));
  return {
    name: resourceName(spec.name),
    module: `functions/${spec.name}`,
    routes,
    runtime: spec.runtime,
    memoryMB: spec.memoryMB,
    timeoutSeconds: spec.timeoutSeconds,
    secrets: spec.secrets,
    ...(spec.nodeInstall ? { nodeInstall: spec.nodeInstall } : {}),
    ...(spec.copyFiles ? { copyFiles: spec.copyFiles } : {}),
    ...(spec.gatewayDefault ? { gatewayDefault: true as const } : {}),
    endpoint: spec,
  };
}

/**
 * The function manifest for a list of user kinds (default: `USER_KINDS` or `User1,User2`).
 * @throws Error when `USER_KINDS` is malformed or a spec module is inconsistent.
 */
export async function buildManifest(kinds?: readonly string[]): Promise<FunctionSpec[]> {
  let resolved = kinds;
  if (!resolved) {
    const parsed = parseUserKinds(process.env.USER_KINDS);
    if (!parsed.ok) throw new Error(`USER_KINDS: ${parsed.problem}`);
    resolved = parsed.kinds;
  }
  const userKinds = resolved;
  return (await loadEndpointSpecs()).map((spec) => functionSpecOf(spec, userKinds));
}

/**
 * Every route of a manifest, in manifest order: what `npm run openapi` writes to
 * `.build/routes.json` for the `$default` function (`functions/not-found.ts`).
 */
export function routeTableOf(manifest: readonly FunctionSpec[]): ApiRoute[] {
  return manifest.flatMap((fn) => fn.routes.map(({ method, path }) => ({ method, path })));
}
