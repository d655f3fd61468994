import { createRoute } from "@hono/zod-openapi";
import { handle } from "hono/aws-lambda";
import { logout } from "../shared/accounts/logout";
import { defineAccountFunction } from "../shared/http/account-function";
import { MessageResponse, problemResponses } from "../shared/http/account-schemas";

/** `GET|POST /{kind}/logout`: revokes the presented access token and its session's refresh-token family. */
export const app = defineAccountFunction("logout", (app, kit, kind) => {
  for (const method of ["get", "post"] as const) {
    const route = createRoute({
      method,
      path: `/${kind}/logout`,
      summary: "Log out this session (access token and its refresh tokens)",
      tags: [kind],
      security: [{ bearerAuth: [] }],
      middleware: [kit.requireAuth(kind, "logout"), kit.rateLimit("logout")] as const,
      responses: {
        200: { description: "Token revoked", content: { "application/json": { schema: MessageResponse } } },
        ...problemResponses(401, 429, 503),
      },
    });
    app.openapi(route, async (c) => {
      await logout(await kit.deps(), c.get("principal"));
      return c.json({ message: "Successfully logged out" }, 200);
    });
  }
});

export const handler = handle(app);
