import { createRoute } from "@hono/zod-openapi";
import { handle } from "hono/aws-lambda";
import { refreshSession } from "../shared/accounts/refresh";
import { AuthError } from "../shared/errors";
import { defineAccountFunction, tokenBody } from "../shared/http/account-function";
import { problemResponses } from "../shared/http/account-schemas";
import { formOrJsonBody, jsonOrForm } from "../shared/http/body-type";
import { RefreshTokenForm, SessionTokenResponse } from "../shared/http/recovery-schemas";

/**
 * `POST /{kind}/token`: the OAuth2 token endpoint for the `refresh_token` grant (RFC 6749 §6),
 * form-urlencoded as the RFC says, JSON accepted. Rotates the refresh token on every use; a reused
 * one revokes its family (see `refresh.ts`). Errors: 401 `invalid_grant` (with `WWW-Authenticate`)
 * for any unusable refresh token, 400 `unsupported_grant_type`, 422 for a malformed body.
 * Responses carry `Cache-Control: no-store` (RFC 6749 §5.1).
 */
export const app = defineAccountFunction("token", (app, kit, kind) => {
  const route = createRoute({
    method: "post",
    path: `/${kind}/token`,
    summary: "Exchange a refresh token for a new access and refresh token",
    tags: [kind],
    middleware: [kit.rateLimit("token")] as const,
    request: {
      body: formOrJsonBody(RefreshTokenForm),
    },
    responses: {
      200: {
        description: "New token pair",
        content: { "application/json": { schema: SessionTokenResponse } },
      },
      ...problemResponses(400, 401, 413, 415, 422, 429, 503),
    },
  });
  app.openapi(route, async (c) => {
    c.header("Cache-Control", "no-store");
    c.header("Pragma", "no-cache");
    const form =
      jsonOrForm(c.req.header("content-type")) === "json" ? c.req.valid("json") : c.req.valid("form");
    if (form.grant_type !== "refresh_token") {
      throw new AuthError("unsupported_grant_type");
    }
    const session = await refreshSession(await kit.deps(), kind, form.refresh_token);
    c.set("auditActor", session.userId);
    return c.json(tokenBody(session), 200);
  });
});

export const handler = handle(app);
