import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import type { OpenAPIHono, RouteConfig } from "@hono/zod-openapi";
import { zValidator } from "@hono/zod-validator";
import { type Context, type Env, Hono, type MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError, ZodType } from "zod";

/**
 * Routes described by zod schemas, validated at run time and documented at build time, without
 * `@hono/zod-openapi` in the deployed code.
 *
 * Why not `OpenAPIHono` itself: importing `@hono/zod-openapi` runs `extendZodWithOpenApi(z)` on
 * zod's whole `z` namespace, which makes every bundle keep all of zod (its 40 locales, JSON-schema
 * conversion: ≈ 460 KiB of the Profile function's 850 KiB at import) plus the OpenAPI generator,
 * and cost ≈ 25 ms of every cold start (`test/bench/function-cold-start.ts`). Here:
 * - schemas carry their documentation as zod's own metadata (`.meta({ id, example, description })`);
 * - {@link RouteApp.openapi} mounts a route with the same request handling as
 *   `OpenAPIHono.openapi` of `@hono/zod-openapi` 1.x (its source: `src/index.ts`, MIT) — the
 *   `@hono/zod-validator` validators for query, path, header and cookie parameters and for each
 *   declared JSON or form body, and the 415 media-type gate — and records the route;
 * - the OpenAPI generator (`@asteasolutions/zod-to-openapi`) runs at build time only
 *   (`infra/openapi.ts`), over {@link RouteApp.openApiDefinitions}.
 * The handler types are `OpenAPIHono`'s own (a type-only import): `c.req.valid("json")` is typed
 * from the route's schemas exactly as before.
 */

/** One route, schema or component of the OpenAPI document, as zod-to-openapi's registry holds it. */
export type OpenApiDefinition = OpenAPIRegistry["definitions"][number];

/** A route definition with the Hono path of its OpenAPI path (`/{id}` → `/:id`), like `createRoute`. */
export type DefinedRoute<R extends RouteConfig> = R & { getRoutingPath(): string };

/** Called with a failed validation's zod error; throws the service's own error (422 problem). */
export type InvalidInputHandler = (error: ZodError) => never;

/**
 * A route definition, as `createRoute` of `@hono/zod-openapi` makes it: the config plus a
 * non-enumerable `getRoutingPath()` (so the config itself is what the document describes).
 */
export function defineRoute<R extends RouteConfig>(config: R): DefinedRoute<R> {
  return Object.defineProperty({ ...config }, "getRoutingPath", {
    enumerable: false,
    value: () => routingPath(config.path),
  }) as DefinedRoute<R>;
}

/** `/{kind}/x/{id}` → `/{kind}/x/:id`: OpenAPI path templates as Hono route patterns. */
function routingPath(path: string): string {
  return path.replaceAll(/\/{(.+?)}/g, "/:$1");
}

// Media-type tests of @hono/zod-openapi 1.x, unchanged, so a body is gated exactly as before.
const JSON_MEDIA_TYPE = /^application\/([a-z-.]+\+)?json/i;
const JSON_REQUEST = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;
const MULTIPART_REQUEST = /^multipart\/form-data(;\s?boundary=[a-zA-Z0-9'"()+_,\-./:=?]+)?$/i;
const URLENCODED_REQUEST = /^application\/x-www-form-urlencoded(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

const isJsonMediaType = (type: string) => JSON_MEDIA_TYPE.test(type);
const isFormMediaType = (type: string) => {
  const lower = type.toLowerCase();
  return lower.startsWith("multipart/form-data") || lower.startsWith("application/x-www-form-urlencoded");
};

/** Whether a request `Content-Type` is one a declared body media type accepts. */
function matchesMediaType(contentType: string, mediaType: string): boolean {
  if (mediaType === "*/*") return true;
  if (isJsonMediaType(mediaType)) return JSON_REQUEST.test(contentType);
  if (isFormMediaType(mediaType))
    return MULTIPART_REQUEST.test(contentType) || URLENCODED_REQUEST.test(contentType);
  const essence = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  if (mediaType.endsWith("/*")) return essence.startsWith(mediaType.slice(0, -1).toLowerCase());
  return essence === mediaType.toLowerCase();
}

/** Whether a request without `Content-Type` carries a non-empty body (read from a clone). */
async function hasRequestBody(c: Context): Promise<boolean> {
  const raw = c.req.raw;
  if (raw.body === null) return false;
  if (raw.bodyUsed) return (await c.req.arrayBuffer()).byteLength > 0;
  const body = raw.clone().body;
  if (body === null) return false;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return false;
      if (value.byteLength > 0) return true;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

const isZodSchema = (value: unknown): value is ZodType =>
  typeof value === "object" && value !== null && "_zod" in value;

/** The schema of a declared body media type (`undefined` for a `$ref`). */
const mediaSchema = (media: unknown): unknown =>
  typeof media === "object" && media !== null && "schema" in media ? media.schema : undefined;

/** The request validators of a route, in `@hono/zod-openapi`'s order. */
function requestValidators(route: RouteConfig, onInvalid: InvalidInputHandler): MiddlewareHandler[] {
  const hook = (result: { success: boolean; error?: unknown }) => {
    if (!result.success) onInvalid(result.error as ZodError);
  };
  const request = route.request ?? {};
  const validators: MiddlewareHandler[] = [];
  const parameters = [
    ["query", request.query],
    ["param", request.params],
    ["header", request.headers],
    ["cookie", request.cookies],
  ] as const;
  for (const [target, schema] of parameters)
    if (isZodSchema(schema)) validators.push(zValidator(target, schema, hook) as MiddlewareHandler);

  const content = request.body?.content;
  if (!content) return validators;
  const declared = Object.keys(content);
  if (
    declared.some(
      (type) => isZodSchema(mediaSchema(content[type])) && (isJsonMediaType(type) || isFormMediaType(type)),
    )
  ) {
    validators.push(async (c, next) => {
      const contentType = c.req.header("content-type");
      if (
        contentType ? !declared.some((type) => matchesMediaType(contentType, type)) : await hasRequestBody(c)
      )
        throw new HTTPException(415, { message: "Unsupported Media Type" });
      await next();
    });
  }
  for (const type of declared) {
    const schema = mediaSchema(content[type]);
    if (!isZodSchema(schema)) continue;
    const target = isJsonMediaType(type) ? "json" : isFormMediaType(type) ? "form" : undefined;
    if (!target) continue;
    const validator = zValidator(target, schema, hook) as MiddlewareHandler;
    if (request.body?.required) {
      validators.push(validator);
      continue;
    }
    // An optional body: validated when it comes with this media type, else `{}`.
    const matches = target === "json" ? isJsonMediaType : isFormMediaType;
    validators.push(async (c, next) => {
      const contentType = c.req.header("content-type");
      if (contentType && matches(contentType)) return validator(c, next);
      c.req.addValidatedData(target, {});
      await next();
    });
  }
  return validators;
}

/**
 * A Hono app whose routes are added with `app.openapi(route, handler)` (see the file comment).
 * Every failed validation goes to `onInvalid`, which throws (the app's error handler answers).
 */
export class RouteApp<E extends Env = Env> extends Hono<E> {
  /** The routes and components this app documents, in registration order (read by `infra/openapi.ts`). */
  readonly openApiDefinitions: OpenApiDefinition[] = [];
  readonly #onInvalid: InvalidInputHandler;

  constructor(onInvalid: InvalidInputHandler) {
    super();
    this.#onInvalid = onInvalid;
  }

  /**
   * Adds a route: its own middleware, then its request validators, then `handler`; and records it
   * for the document unless `hide` is set. Same contract and types as `OpenAPIHono.openapi`.
   */
  openapi: OpenAPIHono<E>["openapi"] = ((
    { middleware, hide, ...route }: RouteConfig,
    handler: MiddlewareHandler,
  ) => {
    if (!hide) this.openApiDefinitions.push({ type: "route", route });
    const own = middleware ? (Array.isArray(middleware) ? middleware : [middleware]) : [];
    this.on(
      [route.method],
      [routingPath(route.path)],
      ...(own as MiddlewareHandler[]),
      ...requestValidators(route, this.#onInvalid),
      handler,
    );
    return this;
  }) as never;

  /** Records a component (e.g. a security scheme) for the document, like `OpenAPIRegistry.registerComponent`. */
  registerComponent(
    componentType: Extract<OpenApiDefinition, { type: "component" }>["componentType"],
    name: string,
    component: Extract<OpenApiDefinition, { type: "component" }>["component"],
  ): void {
    this.openApiDefinitions.push({ type: "component", componentType, name, component });
  }
}
