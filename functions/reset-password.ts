import { createRoute, z } from "@hono/zod-openapi";
import { handle } from "hono/aws-lambda";
import { resetPassword } from "../shared/accounts/reset-password";
import { AuthError } from "../shared/errors";
import { defineAccountFunction } from "../shared/http/account-function";
import { MessageResponse, problemResponses } from "../shared/http/account-schemas";
import { formOrJsonBody, jsonOrForm } from "../shared/http/body-type";
import { pageHeaders, renderPage, wantsJson } from "../shared/http/pages";
import { ResetPasswordBody } from "../shared/http/recovery-schemas";
import { renderResetForm } from "../shared/http/reset-pages";
import { sameOriginForms } from "../shared/http/same-origin";

const DONE = "Password has been reset successfully";

/**
 * `POST /{kind}/reset_password`: `token` + `password`, posted by the reset form page (form-urlencoded)
 * or by an API client (JSON or form). Answers an HTML page, or JSON when the client sends
 * `Accept: application/json` or a JSON body. Cross-site form posts are refused (403
 * `cross_site_request`); a weak password re-shows the form with the reasons (422) and leaves the
 * link usable; a bad, used or expired link is 400 `invalid_or_expired_token` either way.
 */
export const app = defineAccountFunction("reset-password", (app, kit, kind) => {
  const { config } = kit.services;
  const route = createRoute({
    method: "post",
    path: `/${kind}/reset_password`,
    summary: "Set a new password with the emailed reset token",
    tags: [kind],
    middleware: [sameOriginForms(new URL(config.appUrl).origin), kit.rateLimit("reset_password")] as const,
    request: {
      body: formOrJsonBody(ResetPasswordBody),
    },
    responses: {
      200: {
        description: "Password reset; every session was signed out",
        content: { "text/html": { schema: z.string() }, "application/json": { schema: MessageResponse } },
      },
      ...problemResponses(400, 403, 413, 415, 422, 429, 503),
    },
  });
  app.openapi(route, async (c) => {
    const bodyType = jsonOrForm(c.req.header("content-type"));
    const body = bodyType === "json" ? c.req.valid("json") : c.req.valid("form");
    const json = wantsJson(c.req.header("accept")) || bodyType === "json";
    try {
      const { userId } = await resetPassword(await kit.deps(), kind, body.token, body.password);
      c.set("auditActor", userId);
    } catch (err) {
      if (json || !(err instanceof AuthError) || err.status >= 500) throw err;
      if (err.status === 422) {
        const reasons = (err.extensions.errors as { message: string }[] | undefined)?.map((e) => e.message);
        const page = renderResetForm({
          appName: config.appName,
          appUrl: config.appUrl,
          kind,
          token: body.token,
          minLength: config.password.minLength,
          problems: reasons?.length ? reasons : [err.message],
        });
        return c.body(page, 422, pageHeaders());
      }
      const page = renderPage({
        appName: config.appName,
        title: "Password not changed",
        message: err.message,
      });
      return c.body(page, err.status as 400, pageHeaders());
    }
    if (json) return c.json({ message: DONE }, 200, { "Cache-Control": "no-store" });
    const page = renderPage({
      appName: config.appName,
      title: "Password changed",
      message: `${DONE}. You can now log in with your new password.`,
    });
    return c.body(page, 200, pageHeaders());
  });
});

export const handler = handle(app);
