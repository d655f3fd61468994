import { createRoute } from "@hono/zod-openapi";
import { handle } from "hono/aws-lambda";
import { changePassword } from "../shared/accounts/change-password";
import { defineAccountFunction, tokenBody } from "../shared/http/account-function";
import { problemResponses } from "../shared/http/account-schemas";
import { formOrJsonBody, jsonOrForm } from "../shared/http/body-type";
import { ChangePasswordBody, ChangePasswordResponse } from "../shared/http/recovery-schemas";

/**
 * `POST /{kind}/change_password`: `current_password` + `new_password` (JSON or form). Signs out
 * every session, including the calling one, and answers a fresh access + refresh token for it.
 */
export const app = defineAccountFunction("change-password", (app, kit, kind) => {
  const route = createRoute({
    method: "post",
    path: `/${kind}/change_password`,
    summary: "Change your password (signs out every other session)",
    tags: [kind],
    security: [{ bearerAuth: [] }],
    middleware: [kit.requireAuth(kind, "change_password"), kit.rateLimit("change_password")] as const,
    request: {
      body: formOrJsonBody(ChangePasswordBody),
    },
    responses: {
      200: {
        description: "Password changed; a new session for this client",
        content: { "application/json": { schema: ChangePasswordResponse } },
      },
      ...problemResponses(400, 401, 403, 413, 415, 422, 429, 503),
    },
  });
  app.openapi(route, async (c) => {
    const body =
      jsonOrForm(c.req.header("content-type")) === "json" ? c.req.valid("json") : c.req.valid("form");
    const session = await changePassword(
      await kit.deps(),
      c.get("principal"),
      body.current_password,
      body.new_password,
    );
    c.header("Cache-Control", "no-store");
    return c.json({ message: "Password changed successfully", ...tokenBody(session) }, 200);
  });
});

export const handler = handle(app);
