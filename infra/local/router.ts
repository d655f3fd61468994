import { Hono } from "hono";
import { parseConfig } from "../../shared/config/schema";
import type { SecretName } from "../../shared/config/secrets";
import { AuthError } from "../../shared/errors";
import { securityHeaders } from "../../shared/http/app";
import type { FunctionContext } from "../../shared/http/context";
import { problemResponse, problems } from "../../shared/http/problem";
import { type ContextOptions, createContext } from "../../shared/wiring/context";
import { PASSWORD_SETTER } from "../../shared/wiring/passwords";
import { buildManifest } from "../functions";
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
 * them: exact `METHOD /path` routes, the shared security headers on every answer, 405
 * problem+json with `Allow` (RFC 9110 §15.5.6) for a known path asked with another method, 404
 * problem+json for an unknown path, and CORS preflights to the owning function when
 * `CORS_ORIGINS` is set. The local runtime serves it on a socket; tests call it in process.
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
  // The same headers as every function app; a function's own headers pass through unchanged.
  app.use(securityHeaders());
  mountFirst?.(app);
  const methodsByPath = new Map<string, string[]>();
  const corsEnabled = config.http.corsOrigins.length > 0;
  for (const fn of manifest) {
    const mod = (await import(new URL(`../../${fn.module}.ts`, import.meta.url).href)) as FunctionModule;
    const granted = context.withSecrets(
      fn.secrets,
      onSecretRead ? (secret) => onSecretRead(fn.name, secret) : undefined,
    );
    const fnApp = mod.createApp(granted);
    for (const route of fn.routes) {
      app.on(route.method, route.path, (c) => fnApp.fetch(c.req.raw, c.env));
      const methods = methodsByPath.get(route.path);
      if (!methods) {
        methodsByPath.set(route.path, [route.method]);
        // CORS preflights go to the function owning the path: its CORS middleware answers them.
        if (corsEnabled) app.options(route.path, (c) => fnApp.fetch(c.req.raw, c.env));
      } else if (!methods.includes(route.method)) methods.push(route.method);
    }
  }
  app.notFound((c) => {
    const methods = methodsByPath.get(c.req.path);
    if (!methods) return problemResponse(problems.notFound(), undefined);
    const allow = [
      ...methods,
      ...(methods.includes("GET") ? ["HEAD"] : []),
      ...(corsEnabled ? ["OPTIONS"] : []),
    ];
    const err = new AuthError("method_not_allowed", {
      detail: `Use ${allow.join(", ")} on this path`,
      headers: { Allow: allow.join(", ") },
    });
    return problemResponse(err, undefined);
  });
  return app;
}
