import { handle } from "hono/aws-lambda";
import { loadParsePhone } from "../shared/accounts/load-phone";
import { UPDATE_PROFILE_DEPS, updateProfile } from "../shared/accounts/update-profile";
import { invalidField } from "../shared/errors";
import { defineAccountFunction, profileBody } from "../shared/http/account-function";
import { ProfileResponse, UpdateBody } from "../shared/http/account-schemas";
import { lazyApp } from "../shared/http/function-app";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./update.endpoint";

/** `PUT /{kind}/update`: change names, phone or country code of the caller's own profile. */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const route = kit.route({
    method: "put",
    path: "/update",
    summary: "Update your own profile",
    description: "A new phone number clears `phone_verified`.",
    request: { body: { required: true, content: { "application/json": { schema: UpdateBody } } } },
    responses: {
      200: {
        description: "The updated profile",
        content: { "application/json": { schema: ProfileResponse } },
      },
    },
  });
  app.openapi(route, async (c) => {
    const body = c.req.valid("json");
    let phone: { e164: string; country: string | null } | undefined;
    if (body.phone !== undefined) {
      const parsed = (await loadParsePhone())(body.phone);
      if (!parsed.ok) throw invalidField("phone", "is not a possible phone number", "invalid_phone");
      phone = { e164: parsed.e164, country: parsed.country };
    }
    const profile = await updateProfile(await kit.deps(...UPDATE_PROFILE_DEPS), c.get("principal"), {
      ...(body.first_name !== undefined ? { firstName: body.first_name } : {}),
      ...(body.last_name !== undefined ? { lastName: body.last_name } : {}),
      ...(body.country_code !== undefined ? { countryCode: body.country_code } : {}),
      ...(phone ? { phone } : {}),
    });
    return c.json(profileBody(profile), 200);
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
