import { createRoute } from "@hono/zod-openapi";
import { handle } from "hono/aws-lambda";
import { parsePhone } from "../shared/accounts/phone";
import { updateProfile } from "../shared/accounts/update-profile";
import { invalidField } from "../shared/errors";
import { defineAccountFunction, profileBody } from "../shared/http/account-function";
import { ProfileResponse, problemResponses, UpdateBody } from "../shared/http/account-schemas";

/** `PUT /{kind}/update`: change names, phone or country code of the caller's own profile. */
export const app = defineAccountFunction("update", (app, kit, kind) => {
  const route = createRoute({
    method: "put",
    path: `/${kind}/update`,
    summary: "Update your own profile",
    description: "A new phone number clears `phone_verified`.",
    tags: [kind],
    security: [{ bearerAuth: [] }],
    middleware: [kit.requireAuth(kind, "update"), kit.rateLimit("update")] as const,
    request: { body: { required: true, content: { "application/json": { schema: UpdateBody } } } },
    responses: {
      200: {
        description: "The updated profile",
        content: { "application/json": { schema: ProfileResponse } },
      },
      ...problemResponses(400, 401, 413, 415, 422, 429, 503),
    },
  });
  app.openapi(route, async (c) => {
    const body = c.req.valid("json");
    let phone: { e164: string; country: string | null } | undefined;
    if (body.phone !== undefined) {
      const parsed = parsePhone(body.phone);
      if (!parsed.ok) {
        throw invalidField("phone", "is not a possible phone number", "invalid_phone");
      }
      phone = { e164: parsed.e164, country: parsed.country };
    }
    const profile = await updateProfile(await kit.deps(), c.get("principal"), {
      ...(body.first_name !== undefined ? { firstName: body.first_name } : {}),
      ...(body.last_name !== undefined ? { lastName: body.last_name } : {}),
      ...(body.country_code !== undefined ? { countryCode: body.country_code } : {}),
      ...(phone ? { phone } : {}),
    });
    return c.json(profileBody(profile), 200);
  });
});

export const handler = handle(app);
