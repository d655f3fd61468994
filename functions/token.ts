import { handle } from "hono/aws-lambda";
import { REFRESH_DEPS, refreshSession } from "../shared/accounts/refresh";
import { AuthError } from "../shared/errors";
import { defineAccountFunction, tokenBody } from "../shared/http/account-function";
import { formOrJsonBody } from "../shared/http/body-type";
import { clientBindingOf } from "../shared/http/client-address";
import { lazyApp } from "../shared/http/function-app";
import { RefreshTokenForm, SessionTokenResponse } from "../shared/http/recovery-schemas";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./token.endpoint";

/**
 * `POST /{kind}/token`: the OAuth2 token endpoint for the `refresh_token` grant (RFC 6749 §6),
 * form-urlencoded as the RFC says, JSON accepted. Rotates the refresh token on every use; a reused
 * one revokes its family (see `refresh.ts`). Errors: 401 `invalid_grant` (with `WWW-Authenticate`)
 * for any unusable refresh token, 400 `unsupported_grant_type`, 422 for a malformed body.
 * Responses carry `Cache-Control: no-store` (RFC 6749 §5.1).
 */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const route = kit.route({
    method: "post",
    path: "/token",
    summary: "Exchange a refresh token for a new access and refresh token",
    request: { body: formOrJsonBody(RefreshTokenForm) },
    responses: {
      200: {
        description: "New token pair",
        content: { "application/json": { schema: SessionTokenResponse } },
      },
    },
  });
  app.openapi(route, async (c) => {
    c.header("Pragma", "no-cache");
    const form = kit.body(c, { json: () => c.req.valid("json"), form: () => c.req.valid("form") });
    if (form.grant_type !== "refresh_token") throw new AuthError("unsupported_grant_type");
    const session = await refreshSession(
      await kit.deps(...REFRESH_DEPS),
      kit.kind,
      form.refresh_token,
      clientBindingOf(c.get("clientAddress"), c.req.header("user-agent")),
    );
    c.set("auditActor", session.userId);
    return c.json(tokenBody(session), 200);
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
