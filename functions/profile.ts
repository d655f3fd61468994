import { handle } from "hono/aws-lambda";
import { getProfile, PROFILE_DEPS } from "../shared/accounts/profile";
import { defineAccountFunction, profileBody } from "../shared/http/account-function";
import { ProfileResponse } from "../shared/http/account-schemas";
import { lazyApp } from "../shared/http/function-app";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./profile.endpoint";

/**
 * `GET /{kind}/`: the caller's own profile, chosen by the token's subject only. Query parameters
 * (the seed took `id`) are ignored, so no parameter can select another user.
 */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const route = kit.route({
    method: "get",
    path: "/",
    summary: "Read your own profile",
    responses: {
      200: { description: "Your profile", content: { "application/json": { schema: ProfileResponse } } },
    },
  });
  app.openapi(route, async (c) => {
    const profile = await getProfile(
      await kit.deps(...PROFILE_DEPS),
      c.get("principal"),
      c.get("cachedProfile"),
    );
    return c.json(profileBody(profile), 200);
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
