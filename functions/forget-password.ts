import { handle } from "hono/aws-lambda";
import { PASSWORD_RESET_REQUEST_DEPS, requestPasswordReset } from "../shared/accounts/forgot-password";
import { defineAccountFunction } from "../shared/http/account-function";
import { MessageResponse } from "../shared/http/account-schemas";
import { formOrJsonBody } from "../shared/http/body-type";
import { lazyApp } from "../shared/http/function-app";
import { ForgetPasswordBody, ForgetPasswordQuery } from "../shared/http/recovery-schemas";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./forget-password.endpoint";

/** The one answer, whether or not the address belongs to an account (DESIGN.md §9). */
const SENT = { message: "Password reset link sent to your email" } as const;

/**
 * `GET /{kind}/forget_password?email=` (as the seed took it) and `POST /{kind}/forget_password`
 * (`email` as JSON or form; preferred: the address stays out of URLs and access logs). Always
 * `200 {"message":"Password reset link sent to your email"}`; the link goes to the address on record.
 */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const responses = {
    200: {
      description: "Accepted; if the address has an account, a reset link was mailed to it",
      content: { "application/json": { schema: MessageResponse } },
    },
  };
  const get = kit.route({
    method: "get",
    path: "/forget_password",
    summary: "Request a password reset link (query form, kept for seed clients)",
    request: { query: ForgetPasswordQuery },
    responses,
  });
  app.openapi(get, async (c) => {
    await requestPasswordReset(
      await kit.deps(...PASSWORD_RESET_REQUEST_DEPS),
      kit.kind,
      c.req.valid("query").email,
    );
    return c.json(SENT, 200);
  });

  const post = kit.route({
    method: "post",
    path: "/forget_password",
    summary: "Request a password reset link",
    request: { body: formOrJsonBody(ForgetPasswordBody) },
    responses,
  });
  app.openapi(post, async (c) => {
    const body = kit.body(c, { json: () => c.req.valid("json"), form: () => c.req.valid("form") });
    await requestPasswordReset(await kit.deps(...PASSWORD_RESET_REQUEST_DEPS), kit.kind, body.email);
    return c.json(SENT, 200);
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
