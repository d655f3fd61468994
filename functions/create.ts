import { createRoute } from "@hono/zod-openapi";
import { handle } from "hono/aws-lambda";
import { parsePhone } from "../shared/accounts/phone";
import { register } from "../shared/accounts/register";
import { invalidField } from "../shared/errors";
import { defineAccountFunction } from "../shared/http/account-function";
import { problemResponses, RegisterBody, RegisterResponse } from "../shared/http/account-schemas";

/** `POST /{kind}/create`: register. Same 201 shape whether or not the email was registered before. */
export const app = defineAccountFunction("create", (app, kit, kind) => {
  const route = createRoute({
    method: "post",
    path: `/${kind}/create`,
    summary: `Register a ${kind} account`,
    tags: [kind],
    middleware: [kit.rateLimit("create")] as const,
    request: { body: { required: true, content: { "application/json": { schema: RegisterBody } } } },
    responses: {
      201: {
        description: "Accepted; a verification link was mailed",
        content: { "application/json": { schema: RegisterResponse } },
      },
      ...problemResponses(400, 413, 415, 422, 429, 503),
    },
  });
  app.openapi(route, async (c) => {
    const body = c.req.valid("json");
    const phone = parsePhone(body.phone);
    if (!phone.ok) {
      throw invalidField("phone", "is not a possible phone number", "invalid_phone");
    }
    const { id } = await register(await kit.deps(), kind, {
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

export const handler = handle(app);
