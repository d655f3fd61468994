import { Ajv2020, type ErrorObject } from "ajv/dist/2020";
import addFormatsModule from "ajv-formats";

/**
 * Checks values against the schemas of an OpenAPI 3.1 document with Ajv's JSON Schema 2020-12
 * dialect (the dialect OpenAPI 3.1 schemas use). The whole document is registered once under a
 * base URI, and every schema is compiled by JSON pointer into it, so `#/components/schemas/...`
 * references resolve exactly as a client generator would resolve them.
 */

// ajv-formats is CommonJS with `exports.default`; under ESM interop the function may sit one level down.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => void;

/** Base URI the document is registered under (never fetched; `.invalid` is reserved, RFC 2606). */
const DOCUMENT_ID = "https://openapi.invalid/openapi.json";

/** A minimal view of an OpenAPI document: what the checks read. */
export interface OpenApiDoc {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, unknown>; securitySchemes?: Record<string, unknown> };
  [key: string]: unknown;
}

/** A minimal view of an operation. */
export interface OpenApiOperation {
  operationId?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses: Record<
    string,
    { description: string; content?: Record<string, { schema?: unknown }>; headers?: Record<string, unknown> }
  >;
}

/** Escapes one JSON pointer token (RFC 6901 §3). */
export function pointerToken(token: string): string {
  return token.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** One recorded HTTP exchange, as the conformance check needs it. */
export interface RecordedResponse {
  method: string;
  /** The path template as in the document (no query string). */
  path: string;
  status: number;
  contentType: string | null;
  text: string;
}

/** Creates a validator over `doc`. */
export function createOpenApiValidator(doc: OpenApiDoc) {
  // strict: false — OpenAPI adds keywords JSON Schema does not define (`example`, `discriminator`).
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  ajv.addSchema(doc, DOCUMENT_ID);
  const cache = new Map<string, ReturnType<Ajv2020["compile"]>>();
  const compile = (pointer: string) => {
    let fn = cache.get(pointer);
    if (!fn) {
      fn = ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer}` });
      cache.set(pointer, fn);
    }
    return fn;
  };
  const describe = (errors: ErrorObject[] | null | undefined) =>
    (errors ?? []).map((e) => `${e.instancePath || "(root)"} ${e.message ?? ""}`).join("; ");

  return {
    /** Validates `value` against the schema at `pointer` (e.g. `/components/schemas/Problem`); errors as text, or `[]`. */
    validateAt(pointer: string, value: unknown): string[] {
      const fn = compile(pointer);
      return fn(value) ? [] : [describe(fn.errors)];
    },

    /**
     * Checks one response against the document: the operation exists, its status is documented,
     * the media type is one the status documents, and the body validates against that schema
     * (JSON bodies parsed; `text/*` bodies as strings). Returns every problem found, or `[]`.
     */
    checkResponse(r: RecordedResponse): string[] {
      const where = `${r.method} ${r.path} → ${r.status}`;
      const method = r.method.toLowerCase();
      const operation = doc.paths[r.path]?.[method];
      if (!operation) return [`${where}: no such operation in the document`];
      const response = operation.responses[String(r.status)];
      if (!response) {
        return [
          `${where}: status not documented (documented: ${Object.keys(operation.responses).join(", ")})`,
        ];
      }
      const content = response.content ?? {};
      const mediaTypes = Object.keys(content);
      if (mediaTypes.length === 0) return r.text === "" ? [] : [`${where}: body sent but none documented`];
      const mediaType = (r.contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
      if (!mediaTypes.includes(mediaType)) {
        return [
          `${where}: content type ${r.contentType} not documented (documented: ${mediaTypes.join(", ")})`,
        ];
      }
      let body: unknown = r.text;
      if (/json$/.test(mediaType)) {
        try {
          body = JSON.parse(r.text);
        } catch {
          return [`${where}: body is not JSON`];
        }
      }
      const pointer = [
        "/paths",
        pointerToken(r.path),
        method,
        "responses",
        String(r.status),
        "content",
        pointerToken(mediaType),
        "schema",
      ].join("/");
      return this.validateAt(pointer, body).map((e) => `${where}: ${e}`);
    },
  };
}
