import { createRoute } from "@hono/zod-openapi";
import { handle } from "hono/aws-lambda";
import { logoutEverywhere } from "../shared/accounts/logout-all";
import { defineAccountFunction } from "../shared/http/account-function";
import { MessageResponse, problemResponses } from "../shared/http/account-schemas";

/** `POST /{kind}/logout_all`: revokes every access and refresh token of the caller, on every device. */
export const app = defineAccountFunction("logout-all", (app, kit, kind) => {
  const route = createRoute({
    method: "post",
    path: `/${kind}/logout_all`,
    summary: "Log out everywhere (every access and refresh token)",
    tags: [kind],
    security: [{ bearerAuth: [] }],
    middleware: [kit.requireAuth(kind, "logout_all"), kit.rateLimit("logout_all")] as const,
    responses: {
      200: {
        description: "Every session ended",
        content: { "application/json": { schema: MessageResponse } },
      },
      ...problemResponses(401, 429, 503),
    },
  });
  app.openapi(route, async (c) => {
    await logoutEverywhere(await kit.deps(), c.get("principal"));
    return c.json({ message: "Logged out from all sessions" }, 200);
  });
});

export const handler = handle(app);
