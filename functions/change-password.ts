import { handle } from "hono/aws-lambda";
import { CHANGE_PASSWORD_DEPS, changePassword } from "../shared/accounts/change-password";
import { defineAccountFunction, tokenBody } from "../shared/http/account-function";
import { formOrJsonBody } from "../shared/http/body-type";
import { lazyApp } from "../shared/http/function-app";
import { ChangePasswordBody, ChangePasswordResponse } from "../shared/http/recovery-schemas";
import { defaultContext } from "../shared/wiring/context";
import { PASSWORD_SETTER } from "../shared/wiring/passwords";
import { spec } from "./change-password.endpoint";

/**
 * `POST /{kind}/change_password`: `current_password` + `new_password` (JSON or form). Signs out
 * every session, including the calling one, and answers a fresh access + refresh token for it.
 */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const route = kit.route({
    method: "post",
    path: "/change_password",
    summary: "Change your password (signs out every other session)",
    request: { body: formOrJsonBody(ChangePasswordBody) },
    responses: {
      200: {
        description: "Password changed; a new session for this client",
        content: { "application/json": { schema: ChangePasswordResponse } },
      },
    },
  });
  app.openapi(route, async (c) => {
    const body = kit.body(c, { json: () => c.req.valid("json"), form: () => c.req.valid("form") });
    const session = await changePassword(
      await kit.deps(...CHANGE_PASSWORD_DEPS),
      c.get("principal"),
      body.current_password,
      body.new_password,
      { clientAddress: c.get("clientAddress") },
    );
    return c.json({ message: "Password changed successfully", ...tokenBody(session) }, 200);
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec, PASSWORD_SETTER)));
export const handler = handle(app);
