import { createRoute } from "@hono/zod-openapi";
import { handle } from "hono/aws-lambda";
import { requestPasswordReset } from "../shared/accounts/forgot-password";
import { defineAccountFunction } from "../shared/http/account-function";
import { MessageResponse, problemResponses } from "../shared/http/account-schemas";
import { formOrJsonBody, jsonOrForm } from "../shared/http/body-type";
import { ForgetPasswordBody, ForgetPasswordQuery } from "../shared/http/recovery-schemas";

/** The one answer, whether or not the address belongs to an account (DESIGN.md §9). */
const SENT = { message: "Password reset link sent to your email" } as const;

/**
 * `GET /{kind}/forget_password?email=` (as the seed took it) and `POST /{kind}/forget_password`
 * (`email` as JSON or form; preferred: the address stays out of URLs and access logs). Always
 * `200 {"message":"Password reset link sent to your email"}`; the link goes to the address on record.
 */
export const app = defineAccountFunction("forget-password", (app, kit, kind) => {
  const responses = {
    200: {
      description: "Accepted; if the address has an account, a reset link was mailed to it",
      content: { "application/json": { schema: MessageResponse } },
    },
  };
  const get = createRoute({
    method: "get",
    path: `/${kind}/forget_password`,
    summary: "Request a password reset link (query form, kept for seed clients)",
    tags: [kind],
    middleware: [kit.rateLimit("forget_password")] as const,
    request: { query: ForgetPasswordQuery },
    responses: { ...responses, ...problemResponses(422, 429, 503) },
  });
  app.openapi(get, async (c) => {
    await requestPasswordReset(await kit.deps(), kind, c.req.valid("query").email);
    c.header("Cache-Control", "no-store");
    return c.json(SENT, 200);
  });

  const post = createRoute({
    method: "post",
    path: `/${kind}/forget_password`,
    summary: "Request a password reset link",
    tags: [kind],
    middleware: [kit.rateLimit("forget_password")] as const,
    request: {
      body: formOrJsonBody(ForgetPasswordBody),
    },
    responses: { ...responses, ...problemResponses(400, 413, 415, 422, 429, 503) },
  });
  app.openapi(post, async (c) => {
    const body =
      jsonOrForm(c.req.header("content-type")) === "json" ? c.req.valid("json") : c.req.valid("form");
    await requestPasswordReset(await kit.deps(), kind, body.email);
    c.header("Cache-Control", "no-store");
    return c.json(SENT, 200);
  });
});

export const handler = handle(app);
