import { handle } from "hono/aws-lambda";
import { LOGIN_DEPS, login } from "../shared/accounts/login";
import { defineAccountFunction, tokenBody } from "../shared/http/account-function";
import { LoginForm, TokenResponse } from "../shared/http/account-schemas";
import { formOrJsonBody } from "../shared/http/body-type";
import { lazyApp } from "../shared/http/function-app";
import { defaultContext } from "../shared/wiring/context";
import { PASSWORD_HASHER } from "../shared/wiring/passwords";
import { spec } from "./login.endpoint";

/**
 * `POST /{kind}/login`: OAuth2 resource owner password grant (RFC 6749 §4.3) as the seed's
 * FastAPI `OAuth2PasswordRequestForm` took it (`username` = email, form-urlencoded); JSON accepted too.
 * Answers an access token and the first refresh token of a new session (`POST /{kind}/token`).
 */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const route = kit.route({
    method: "post",
    path: "/login",
    summary: "Log in with email and password",
    request: { body: formOrJsonBody(LoginForm) },
    responses: {
      200: { description: "Access token issued", content: { "application/json": { schema: TokenResponse } } },
    },
  });
  app.openapi(route, async (c) => {
    const form = kit.body(c, { json: () => c.req.valid("json"), form: () => c.req.valid("form") });
    const result = await login(await kit.deps(...LOGIN_DEPS), kit.kind, form.username, form.password, {
      clientAddress: c.get("clientAddress"),
    });
    c.set("auditActor", result.userId); // a failure is audited under the email's blind index instead
    return c.json(tokenBody(result), 200);
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec, PASSWORD_HASHER)));
export const handler = handle(app);
