import { createRoute } from "@hono/zod-openapi";
import { handle } from "hono/aws-lambda";
import { getProfile } from "../shared/accounts/profile";
import { defineAccountFunction, profileBody } from "../shared/http/account-function";
import { ProfileResponse, problemResponses } from "../shared/http/account-schemas";

/**
 * `GET /{kind}/`: the caller's own profile, chosen by the token's subject only. Query parameters
 * (the seed took `id`) are ignored, so no parameter can select another user.
 */
export const app = defineAccountFunction("profile", (app, kit, kind) => {
  const route = createRoute({
    method: "get",
    path: `/${kind}/`,
    summary: "Read your own profile",
    tags: [kind],
    security: [{ bearerAuth: [] }],
    middleware: [kit.requireAuth(kind, "profile"), kit.rateLimit("profile")] as const,
    responses: {
      200: { description: "Your profile", content: { "application/json": { schema: ProfileResponse } } },
      ...problemResponses(401, 429, 503),
    },
  });
  app.openapi(route, async (c) => {
    const profile = await getProfile(await kit.deps(), c.get("principal"), c.get("cachedProfile"));
    c.header("Cache-Control", "no-store");
    return c.json(profileBody(profile), 200);
  });
});

export const handler = handle(app);
