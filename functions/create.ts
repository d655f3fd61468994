import { handle } from "hono/aws-lambda";
import { loadParsePhone } from "../shared/accounts/load-phone";
import { REGISTER_DEPS, register } from "../shared/accounts/register";
import { invalidField } from "../shared/errors";
import { defineAccountFunction } from "../shared/http/account-function";
import { RegisterBody, RegisterResponse } from "../shared/http/account-schemas";
import { lazyApp } from "../shared/http/function-app";
import { defaultContext } from "../shared/wiring/context";
import { PASSWORD_SETTER } from "../shared/wiring/passwords";
import { spec } from "./create.endpoint";

/** `POST /{kind}/create`: register. Same 201 shape whether or not the email was registered before. */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const route = kit.route({
    method: "post",
    path: "/create",
    summary: `Register a ${kit.kind} account`,
    request: { body: { required: true, content: { "application/json": { schema: RegisterBody } } } },
    responses: {
      201: {
        description: "Accepted; a verification link was mailed",
        content: { "application/json": { schema: RegisterResponse } },
      },
    },
  });
  app.openapi(route, async (c) => {
    const body = c.req.valid("json");
    const phone = (await loadParsePhone())(body.phone);
    if (!phone.ok) throw invalidField("phone", "is not a possible phone number", "invalid_phone");
    const { id } = await register(await kit.deps(...REGISTER_DEPS), kit.kind, {
      firstName: body.first_name,
      lastName: body.last_name,
      email: body.email,
      phone: phone.e164,
      country: phone.country,
      countryCode: body.country_code,
      password: body.password,
    });
    return c.json({ message: "User created successfully" as const, id, email: "[ENCRYPTED]" as const }, 201);
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec, PASSWORD_SETTER)));
export const handler = handle(app);
