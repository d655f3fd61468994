import { sha256 } from "@noble/hashes/sha2.js";
import type { MiddlewareHandler } from "hono";
import { utf8Encode } from "../crypto/encoding";
import { timingSafeEqual } from "../crypto/random";
import { AuthError } from "../errors";
import type { AppEnv } from "./app";
import type { RouteApp } from "./route-app";

/** The one 401 of the operator endpoints: missing, malformed, wrong, or a user's token — same answer. */
export const opsUnauthorized = () =>
  new AuthError("unauthorized", { detail: "An operator bearer token is required", realm: "operations" });

/**
 * Middleware guarding the operator endpoints (`/health/detailed`, `/metrics`): the request must
 * carry `Authorization: Bearer <OPS_TOKEN>`. The comparison is constant-time over SHA-256 digests
 * of both values, so neither the content nor the length of the configured token leaks through
 * timing. A user's access token is just another wrong token here: operator access is a separate
 * credential from configuration, never a user role. Without a configured `OPS_TOKEN` every request
 * gets the same 401 (the endpoints are off).
 *
 * @throws AuthError `unauthorized` (401, `WWW-Authenticate: Bearer realm="operations"`).
 */
export function requireOpsToken(opsToken: string | undefined): MiddlewareHandler<AppEnv> {
  const expected = opsToken ? sha256(utf8Encode(opsToken)) : undefined;
  return async function opsAuth(c, next) {
    const match = /^Bearer[ ]+([\x21-\x7e]{1,1024})$/i.exec(c.req.header("authorization")?.trim() ?? "");
    const presented = match?.[1];
    if (!expected || !presented || !timingSafeEqual(sha256(utf8Encode(presented)), expected)) {
      throw opsUnauthorized();
    }
    await next();
  };
}

/** Name of the OpenAPI security scheme of the operator endpoints. */
export const OPS_AUTH_SCHEME = "opsToken";

/**
 * Registers the operator bearer scheme in an app's OpenAPI registry, so routes can declare
 * `security: [{ opsToken: [] }]` and the merged document defines it.
 */
export function registerOpsSecurityScheme(app: RouteApp<AppEnv>): void {
  app.registerComponent("securitySchemes", OPS_AUTH_SCHEME, {
    type: "http",
    scheme: "bearer",
    description:
      "The operator token from configuration (`OPS_TOKEN`), sent as `Authorization: Bearer <token>`. " +
      "A user's access token is not accepted.",
  });
}
