import { handle } from "hono/aws-lambda";
import { LOGOUT_DEPS, logout } from "../shared/accounts/logout";
import { defineAccountFunction } from "../shared/http/account-function";
import { MessageResponse } from "../shared/http/account-schemas";
import { lazyApp } from "../shared/http/function-app";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./logout.endpoint";

/** `GET|POST /{kind}/logout`: revokes the presented access token and its session's refresh-token family. */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  for (const method of ["get", "post"] as const) {
    const route = kit.route({
      method,
      path: "/logout",
      summary: "Log out this session (access token and its refresh tokens)",
      responses: {
        200: { description: "Token revoked", content: { "application/json": { schema: MessageResponse } } },
      },
    });
    app.openapi(route, async (c) => {
      await logout(await kit.deps(...LOGOUT_DEPS), c.get("principal"));
      return c.json({ message: "Successfully logged out" }, 200);
    });
  }
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
