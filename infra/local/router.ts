import { Hono } from "hono";
import { getPath } from "hono/utils/url";
import { parseConfig } from "../../shared/config/schema";
import type { SecretName } from "../../shared/config/secrets";
import type { FunctionContext } from "../../shared/http/context";
import { type ContextOptions, createContext } from "../../shared/wiring/context";
import { PASSWORD_SETTER } from "../../shared/wiring/passwords";
import { buildManifest, routeTableOf } from "../functions";
import { buildOpenApiDocument } from "../openapi";

/** What a function module exports that the router mounts. */
interface FunctionModule {
  createApp(ctx: FunctionContext): { fetch(request: Request, env?: unknown): Response | Promise<Response> };
}

/**
 * The context every locally served function shares: the composition root with every password
 * capability, and the OpenAPI document built from the manifest (as `npm run openapi` builds it for
 * deployment).
 * @throws ConfigError when `env` is invalid.
 */
export function createLocalContext(
  env: Record<string, string | undefined>,
  options: ContextOptions = {},
): FunctionContext {
  const config = parseConfig(env);
  const context: FunctionContext = createContext(config, {
    ...PASSWORD_SETTER,
    routeTable: async () => routeTableOf(await buildManifest(config.userKinds)),
    apiDocument: () =>
      buildOpenApiDocument({
        title: config.appName,
        serverUrl: config.appUrl,
        userKinds: config.userKinds,
        context,
      }),
    ...options,
  });
  return context;
}

/** Options of {@link createFunctionRouter}. */
export interface RouterOptions {
  /** Routes mounted before the functions' (the dev outbox). */
  mountFirst?: (app: Hono) => void;
  /** Hears every read of a granted secret's configuration field, by function name (e.g. `Login`). */
  onSecretRead?: (functionName: string, secret: SecretName) => void;
}

/**
 * Every manifest function's `createApp(ctx)` behind one Hono app, routed as API Gateway routes
 * them: exact `METHOD /path` routes (each function app adds the shared security headers), everything else
 * to the `gatewayDefault` function as API Gateway's `$default` route does (405 problem+json with
 * `Allow` for a known path asked with another method, 404 otherwise: `functions/not-found.ts`),
 * and CORS preflights to the owning function when `CORS_ORIGINS` is set. The local runtime serves
 * it on a socket; tests call it in process.
 *
 * Each function gets `context.withSecrets(fn.secrets)`: the adapters of the one shared context, but
 * a configuration holding only the secrets its spec is granted, as deployed (least privilege), so
 * a function that reads a secret its spec does not list fails here as it would on AWS.
 */
export async function createFunctionRouter(
  context: FunctionContext,
  { mountFirst, onSecretRead }: RouterOptions = {},
): Promise<Hono> {
  const { config } = context;
  const manifest = await buildManifest(config.userKinds);
  const app = new Hono();
  // No middleware here: every function app sets the security headers itself (createFunctionApp),
  // as deployed, and what is mounted first (the dev outbox) sets its own.
  mountFirst?.(app);
  const paths = new Set<string>();
  const corsEnabled = config.http.corsOrigins.length > 0;
  let unmatched: { fetch(request: Request, env?: unknown): Response | Promise<Response> } | undefined;
  const exactRoutes = new Map<
    string,
    { fetch(request: Request, env?: unknown): Response | Promise<Response> }
  >();
  for (const fn of manifest) {
    const mod = (await import(new URL(`../../${fn.module}.ts`, import.meta.url).href)) as FunctionModule;
    const granted = context.withSecrets(
      fn.secrets,
      onSecretRead ? (secret) => onSecretRead(fn.name, secret) : undefined,
    );
    const fnApp = mod.createApp(granted);
    if (fn.gatewayDefault) unmatched = fnApp;
    for (const route of fn.routes) {
      app.on(route.method, route.path, (c) => fnApp.fetch(c.req.raw, c.env));
      exactRoutes.set(`${route.method} ${route.path}`, fnApp);
      // CORS preflights go to the function owning the path: its CORS middleware answers them.
      if (corsEnabled && !paths.has(route.path))
        app.options(route.path, (c) => fnApp.fetch(c.req.raw, c.env));
      paths.add(route.path);
    }
  }
  // What API Gateway sends to its `$default` route goes to the same function here.
  const fallback = unmatched;
  if (!fallback) throw new Error("the manifest has no gatewayDefault function");
  app.notFound((c) => fallback.fetch(c.req.raw, c.env));
  // API Gateway's own routing costs the functions nothing: an exact `METHOD /path` of the
  // manifest goes straight to its function, without a second Hono dispatch in front of it.
  // Anything else (HEAD, preflights, encoded paths, the outbox, unknown routes) takes the router.
  const routed = app.fetch;
  app.fetch = (request, env, executionCtx) => {
    const fnApp = exactRoutes.get(`${request.method} ${getPath(request)}`);
    return fnApp ? fnApp.fetch(request, env) : routed(request, env, executionCtx);
  };
  return app;
}
