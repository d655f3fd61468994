import { handle } from "hono/aws-lambda";
import { LOGOUT_ALL_DEPS, logoutEverywhere } from "../shared/accounts/logout-all";
import { defineAccountFunction } from "../shared/http/account-function";
import { MessageResponse } from "../shared/http/account-schemas";
import { lazyApp } from "../shared/http/function-app";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./logout-all.endpoint";

/** `POST /{kind}/logout_all`: revokes every access and refresh token of the caller, on every device. */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const route = kit.route({
    method: "post",
    path: "/logout_all",
    summary: "Log out everywhere (every access and refresh token)",
    responses: {
      200: {
        description: "Every session ended",
        content: { "application/json": { schema: MessageResponse } },
      },
    },
  });
  app.openapi(route, async (c) => {
    await logoutEverywhere(await kit.deps(...LOGOUT_ALL_DEPS), c.get("principal"));
    return c.json({ message: "Logged out from all sessions" }, 200);
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
