import { OpenAPIRegistry, OpenApiGeneratorV31, zodToOpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { globalRegistry } from "zod";
import { ProblemSchema } from "./account-schemas";
import type { OpenApiDefinition } from "./route-app";

/** The generated OpenAPI 3.1 document (the generator's own type: no second OpenAPI type package). */
export type OpenApiDocument = ReturnType<OpenApiGeneratorV31["generateDocument"]>;

/** Name of the security scheme authenticated routes reference (`security: [{ bearerAuth: [] }]`). */
export const BEARER_AUTH_SCHEME = "bearerAuth";

/** Options of {@link assembleOpenApiDocument}. */
export interface OpenApiAssemblyOptions {
  /** `info.title`, e.g. the configured `APP_NAME`. */
  title: string;
  /** `info.version`: the package version. */
  version: string;
  /** The API's public base URL (`APP_URL`), the single entry of `servers`. */
  serverUrl: string;
  /** User kinds in configuration order; their tags come first, in this order. */
  userKinds: readonly string[];
  /** Markdown for `info.description`. */
  description?: string;
  /** Descriptions of tags that are not user kinds, by tag name (e.g. `Operations`). */
  tagDescriptions?: Readonly<Record<string, string>>;
}

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/**
 * A stable `operationId` from method and path (`POST /User1/login` → `postUser1Login`,
 * `GET /User1/` → `getUser1`), unique because method + path is unique in the manifest.
 */
export function operationIdFor(method: string, path: string): string {
  const words = path
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w.length > 0)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1));
  return `${method.toLowerCase()}${words.join("")}`;
}

/** A regex source followed by an unescaped `/` and flags that do not change what `test` matches. */
const FLAGGED_PATTERN = /^(.*[^\\])\/([dguvy]+)$/s;

/**
 * Repairs `pattern`s the generator wrote from flagged regexes: it writes `regex.toString()` minus
 * the outer slashes, so `/^x$/u` becomes `^x$/u`, which can never match. A regex source never holds
 * an unescaped `/` outside a character class, so a trailing unescaped `/flags` is always the flags.
 * `u`/`v` is how JSON Schema (ECMA-262) validators compile patterns anyway; `d`, `g`, `y` do not
 * change a match test. Other flags (`i`, `m`, `s`) change the meaning and are left for the tests to
 * report. Mutates `node` in place.
 */
export function repairRegexPatterns(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) repairRegexPatterns(item);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const record = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    if (key === "pattern" && typeof value === "string") {
      const match = FLAGGED_PATTERN.exec(value);
      if (match?.[1] !== undefined) record[key] = match[1];
    } else {
      repairRegexPatterns(value);
    }
  }
}

/**
 * Makes every schema named with zod's own metadata (`.meta({ id: "Problem" })`, zod's global
 * registry) a named component for the generator. zod-to-openapi 9 reads the rest of a schema's zod
 * metadata (`example`, `description`) by itself, but takes a component name only from its own
 * registry (what `.openapi("Name")` writes), so without this every named schema would be inlined.
 * The schemas are named at module load; call this after the function modules are imported.
 */
function nameComponentsFromZodIds(): void {
  for (const [id, schema] of globalRegistry._idmap) {
    if (!zodToOpenAPIRegistry.has(schema)) zodToOpenAPIRegistry.add(schema, { _internal: { refId: id } });
  }
}

/**
 * Builds ONE OpenAPI 3.1 document from the route and component definitions of several function
 * apps (`RouteApp.openApiDefinitions`)
 * (each deployed function has its own app; the document describes the API they form together).
 * Adds what no single route declares: `info`, `servers`, the HTTP bearer (JWT) security scheme
 * that authenticated routes reference (RFC 6750), the RFC 9457 `Problem` schema, a tag list (user
 * kinds first, each with a description) and an `operationId` for every operation that has none,
 * and repairs regex patterns written with their flags ({@link repairRegexPatterns}).
 *
 * Components registered by several apps (the shared zod schemas) are identical, so the last one
 * written wins harmlessly.
 *
 * @throws Error from the generator when a schema cannot be described (e.g. a zod type it does not know).
 */
export function assembleOpenApiDocument(
  definitions: readonly OpenApiDefinition[],
  options: OpenApiAssemblyOptions,
): OpenApiDocument {
  nameComponentsFromZodIds();
  const base = new OpenAPIRegistry();
  base.registerComponent("securitySchemes", BEARER_AUTH_SCHEME, {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "An access token from `POST /{kind}/login` (or the refresh grant), sent as `Authorization: Bearer <token>`. " +
      "A token is valid only for the user kind that issued it.",
  });
  // Named `Problem` by its own metadata (`.meta({ id })`), listed even where no route refers to it.
  const problem: OpenApiDefinition = { type: "schema", schema: ProblemSchema };

  const document = new OpenApiGeneratorV31([...base.definitions, problem, ...definitions]).generateDocument({
    openapi: "3.1.0",
    info: {
      title: options.title,
      version: options.version,
      ...(options.description ? { description: options.description } : {}),
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [{ url: options.serverUrl }],
  });

  repairRegexPatterns(document);
  const used = new Set<string>();
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      operation.operationId ??= operationIdFor(method, path);
      for (const tag of operation.tags ?? []) used.add(tag);
    }
  }
  const kinds = options.userKinds.filter((k) => used.has(k));
  const others = [...used].filter((t) => !options.userKinds.includes(t)).sort();
  document.tags = [
    ...kinds.map((kind) => ({
      name: kind,
      description: `Accounts of the \`${kind}\` user kind. Each kind is a separate pool: its own users, and access tokens valid only on its own routes.`,
    })),
    ...others.map((name) => {
      const description = options.tagDescriptions?.[name];
      return description ? { name, description } : { name };
    }),
  ];
  return document;
}
