import { handle } from "hono/aws-lambda";
import { DELETE_ACCOUNT_DEPS, deleteAccount } from "../shared/accounts/delete-account";
import { defineAccountFunction } from "../shared/http/account-function";
import { DeleteBody, MessageResponse } from "../shared/http/account-schemas";
import { lazyApp } from "../shared/http/function-app";
import { defaultContext } from "../shared/wiring/context";
import { PASSWORD_HASHER } from "../shared/wiring/passwords";
import { spec } from "./delete.endpoint";

/** `DELETE /{kind}/delete`: deletes the caller's own account; the current password is required. */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const route = kit.route({
    method: "delete",
    path: "/delete",
    summary: "Delete your own account",
    request: { body: { required: true, content: { "application/json": { schema: DeleteBody } } } },
    responses: {
      200: { description: "Account deleted", content: { "application/json": { schema: MessageResponse } } },
    },
  });
  app.openapi(route, async (c) => {
    const { password } = c.req.valid("json");
    const { config } = kit.ctx;
    const maxLifetime = Math.max(config.jwt.accessTokenTtlSeconds, config.tokens.refreshTtlSeconds);
    await deleteAccount(await kit.deps(...DELETE_ACCOUNT_DEPS), c.get("principal"), password, maxLifetime, {
      clientAddress: c.get("clientAddress"),
    });
    return c.json({ message: "User deleted successfully" }, 200);
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec, PASSWORD_HASHER)));
export const handler = handle(app);
