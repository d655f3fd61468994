import { handle } from "hono/aws-lambda";
import * as z from "zod";
import { defineAccountFunction } from "../shared/http/account-function";
import { lazyApp } from "../shared/http/function-app";
import { pageHeaders, renderPage } from "../shared/http/pages";
import { ResetFormQuery } from "../shared/http/recovery-schemas";
import { renderResetForm } from "../shared/http/reset-pages";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./reset-password-form.endpoint";

/**
 * `GET /{kind}/reset_password_form?token=`: the page the reset email links to. It does not look the
 * token up (opening the page uses nothing up; a bad link is reported when the form is posted) and
 * reads no store, so it needs no secrets at run time beyond configuration.
 */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const route = kit.route({
    method: "get",
    path: "/reset_password_form",
    summary: "Password reset form (the emailed link)",
    request: { query: ResetFormQuery.partial() },
    responses: {
      200: { description: "The form", content: { "text/html": { schema: z.string() } } },
      400: { description: "Malformed link", content: { "text/html": { schema: z.string() } } },
    },
  });
  app.openapi(route, (c) => {
    const { config } = kit.ctx;
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
      kind: kit.kind,
      token: parsed.data.token,
      minLength: config.password.minLength,
      maxBytes: config.password.maxBytes,
    });
    return c.body(page, 200, pageHeaders());
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
