import { createRoute } from "@hono/zod-openapi";
import { handle } from "hono/aws-lambda";
import { deleteAccount } from "../shared/accounts/delete-account";
import { defineAccountFunction } from "../shared/http/account-function";
import { DeleteBody, MessageResponse, problemResponses } from "../shared/http/account-schemas";

/** `DELETE /{kind}/delete`: deletes the caller's own account; the current password is required. */
export const app = defineAccountFunction("delete", (app, kit, kind) => {
  const route = createRoute({
    method: "delete",
    path: `/${kind}/delete`,
    summary: "Delete your own account",
    tags: [kind],
    security: [{ bearerAuth: [] }],
    middleware: [kit.requireAuth(kind, "delete"), kit.rateLimit("delete")] as const,
    request: { body: { required: true, content: { "application/json": { schema: DeleteBody } } } },
    responses: {
      200: { description: "Account deleted", content: { "application/json": { schema: MessageResponse } } },
      ...problemResponses(400, 401, 403, 413, 415, 422, 429, 503),
    },
  });
  app.openapi(route, async (c) => {
    const { password } = c.req.valid("json");
    const { config } = kit.services;
    const maxLifetime = Math.max(config.jwt.accessTokenTtlSeconds, config.tokens.refreshTtlSeconds);
    await deleteAccount(await kit.deps(), c.get("principal"), password, maxLifetime);
    return c.json({ message: "User deleted successfully" }, 200);
  });
});

export const handler = handle(app);
