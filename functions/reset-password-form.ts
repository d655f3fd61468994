import { createRoute, z } from "@hono/zod-openapi";
import { handle } from "hono/aws-lambda";
import { defineAccountFunction } from "../shared/http/account-function";
import { problemResponses } from "../shared/http/account-schemas";
import { pageHeaders, renderPage } from "../shared/http/pages";
import { ResetFormQuery } from "../shared/http/recovery-schemas";
import { renderResetForm } from "../shared/http/reset-pages";

/**
 * `GET /{kind}/reset_password_form?token=`: the page the reset email links to. It does not look the
 * token up (opening the page uses nothing up; a bad link is reported when the form is posted) and
 * reads no store, so it needs no secrets at run time beyond configuration. Rate-limited with the
 * `verify` policy, the other "opened an emailed link" route, so a mistyped password can be retried
 * without exhausting the tight `reset_password` budget.
 */
export const app = defineAccountFunction("reset-password-form", (app, kit, kind) => {
  const route = createRoute({
    method: "get",
    path: `/${kind}/reset_password_form`,
    summary: "Password reset form (the emailed link)",
    tags: [kind],
    middleware: [kit.rateLimit("verify")] as const,
    request: { query: ResetFormQuery.partial() },
    responses: {
      200: { description: "The form", content: { "text/html": { schema: z.string() } } },
      400: { description: "Malformed link", content: { "text/html": { schema: z.string() } } },
      ...problemResponses(429, 503),
    },
  });
  app.openapi(route, (c) => {
    const { config } = kit.services;
    const parsed = ResetFormQuery.safeParse(c.req.valid("query"));
    if (!parsed.success) {
      const page = renderPage({
        appName: config.appName,
        title: "Invalid link",
        message: "This password reset link is invalid or has expired. Request a new one.",
      });
      return c.body(page, 400, pageHeaders());
    }
    const page = renderResetForm({
      appName: config.appName,
      appUrl: config.appUrl,
      kind,
      token: parsed.data.token,
      minLength: config.password.minLength,
    });
    return c.body(page, 200, pageHeaders());
  });
});

export const handler = handle(app);
