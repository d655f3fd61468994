import type { ZodType } from "zod";
import { problems } from "./problem";

/**
 * Which validated body a JSON-or-form route should read, from its `Content-Type` (routes that, like
 * OAuth2 token endpoints and HTML forms, take `application/x-www-form-urlencoded` and also JSON).
 * The route's validators run only for the type they match; an absent or other type reached the
 * handler unchecked, so it is refused here.
 * @throws AuthError `unsupported_media_type` (415).
 */
export function jsonOrForm(contentType: string | undefined): "json" | "form" {
  const type = contentType ?? "";
  if (/^\s*application\/([a-z.+-]*\+)?json\b/i.test(type)) return "json";
  if (/^\s*(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)) return "form";
  throw problems.unsupportedMediaType("application/x-www-form-urlencoded or application/json");
}

/**
 * The OpenAPI request body of a route that takes the same fields as a form
 * (`application/x-www-form-urlencoded`, as OAuth2 token endpoints and HTML forms send them) or as
 * JSON. Not `required`: each validator runs only for its content type, so the handler must read the
 * body through {@link jsonOrForm}, which refuses any other type.
 */
export function formOrJsonBody<S extends ZodType>(schema: S) {
  return {
    required: false,
    content: { "application/x-www-form-urlencoded": { schema }, "application/json": { schema } },
  } as const;
}
