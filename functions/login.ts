import { createRoute } from "@hono/zod-openapi";
import { handle } from "hono/aws-lambda";
import { login } from "../shared/accounts/login";
import { defineAccountFunction, tokenBody } from "../shared/http/account-function";
import { LoginForm, problemResponses, TokenResponse } from "../shared/http/account-schemas";
import { formOrJsonBody, jsonOrForm } from "../shared/http/body-type";

/**
 * `POST /{kind}/login`: OAuth2 resource owner password grant (RFC 6749 §4.3) as the seed's
 * FastAPI `OAuth2PasswordRequestForm` took it (`username` = email, form-urlencoded); JSON accepted too.
 * Answers an access token and the first refresh token of a new session (`POST /{kind}/token`).
 */
export const app = defineAccountFunction("login", (app, kit, kind) => {
  const route = createRoute({
    method: "post",
    path: `/${kind}/login`,
    summary: "Log in with email and password",
    tags: [kind],
    middleware: [kit.rateLimit("login")] as const,
    request: {
      body: formOrJsonBody(LoginForm),
    },
    responses: {
      200: { description: "Access token issued", content: { "application/json": { schema: TokenResponse } } },
      ...problemResponses(400, 401, 403, 413, 415, 422, 429, 503),
    },
  });
  app.openapi(route, async (c) => {
    const form =
      jsonOrForm(c.req.header("content-type")) === "json" ? c.req.valid("json") : c.req.valid("form");
    const result = await login(await kit.deps(), kind, form.username, form.password);
    c.set("auditActor", result.userId); // a failure is audited under the email's blind index instead
    c.header("Cache-Control", "no-store");
    return c.json(tokenBody(result), 200);
  });
});

export const handler = handle(app);
