import { handle } from "hono/aws-lambda";
import * as z from "zod";
import { RESET_PASSWORD_DEPS, resetPassword } from "../shared/accounts/reset-password";
import { AuthError } from "../shared/errors";
import { defineAccountFunction } from "../shared/http/account-function";
import { MessageResponse } from "../shared/http/account-schemas";
import { formOrJsonBody, jsonOrForm } from "../shared/http/body-type";
import { lazyApp } from "../shared/http/function-app";
import { pageHeaders, renderPage, wantsJson } from "../shared/http/pages";
import { ResetPasswordBody } from "../shared/http/recovery-schemas";
import { renderResetForm } from "../shared/http/reset-pages";
import { sameOriginForms } from "../shared/http/same-origin";
import { defaultContext } from "../shared/wiring/context";
import { PASSWORD_SETTER } from "../shared/wiring/passwords";
import { spec } from "./reset-password.endpoint";

const DONE = "Password has been reset successfully";

/**
 * `POST /{kind}/reset_password`: `token` + `password`, posted by the reset form page (form-urlencoded)
 * or by an API client (JSON or form). Answers an HTML page, or JSON when the client sends
 * `Accept: application/json` or a JSON body. Cross-site form posts are refused (403
 * `cross_site_request`); a weak password re-shows the form with the reasons (422) and leaves the
 * link usable; a bad, used or expired link is 400 `invalid_or_expired_token` either way.
 */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const { config } = kit.ctx;
  const { kind } = kit;
  const route = kit.route({
    method: "post",
    path: "/reset_password",
    summary: "Set a new password with the emailed reset token",
    middleware: [sameOriginForms(new URL(config.appUrl).origin)],
    request: { body: formOrJsonBody(ResetPasswordBody) },
    responses: {
      200: {
        description: "Password reset; every session was signed out",
        content: { "text/html": { schema: z.string() }, "application/json": { schema: MessageResponse } },
      },
    },
  });
  app.openapi(route, async (c) => {
    const body = kit.body(c, { json: () => c.req.valid("json"), form: () => c.req.valid("form") });
    const json = wantsJson(c.req.header("accept")) || jsonOrForm(c.req.header("content-type")) === "json";
    try {
      const { userId } = await resetPassword(
        await kit.deps(...RESET_PASSWORD_DEPS),
        kind,
        body.token,
        body.password,
        { clientAddress: c.get("clientAddress") },
      );
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
          maxBytes: config.password.maxBytes,
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
    if (json) return c.json({ message: DONE }, 200);
    const page = renderPage({
      appName: config.appName,
      title: "Password changed",
      message: `${DONE}. You can now log in with your new password.`,
    });
    return c.body(page, 200, pageHeaders());
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec, PASSWORD_SETTER)));
export const handler = handle(app);
