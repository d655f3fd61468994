import { handle } from "hono/aws-lambda";
import * as z from "zod";
import { VERIFY_EMAIL_DEPS, verifyEmail } from "../shared/accounts/verify-email";
import { AuthError } from "../shared/errors";
import { defineAccountFunction } from "../shared/http/account-function";
import { MessageResponse } from "../shared/http/account-schemas";
import { formOrJsonBody, jsonOrForm } from "../shared/http/body-type";
import { lazyApp } from "../shared/http/function-app";
import { pageHeaders, renderPage, wantsJson } from "../shared/http/pages";
import { VerifyEmailBody } from "../shared/http/recovery-schemas";
import { sameOriginForms } from "../shared/http/same-origin";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./verify.endpoint";

const DONE = "Email verified successfully";

/**
 * `POST /{kind}/verify`: `token` from the emailed link, posted by the link's confirmation page
 * (form-urlencoded) or by an API client (JSON or form). Only this POST consumes the token; GET and
 * HEAD on the link never do (finding F12). Answers an HTML page, or JSON when the client sends
 * `Accept: application/json` or a JSON body. Cross-site form posts are refused (403
 * `cross_site_request`, the link stays usable); a bad, used or expired token is 400
 * `invalid_or_expired_token` either way.
 */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const { config } = kit.ctx;
  const route = kit.route({
    method: "post",
    path: "/verify",
    summary: "Verify an email address with the emailed link's token",
    middleware: [sameOriginForms(new URL(config.appUrl).origin)],
    request: { body: formOrJsonBody(VerifyEmailBody) },
    responses: {
      200: {
        description: "Email verified",
        content: { "text/html": { schema: z.string() }, "application/json": { schema: MessageResponse } },
      },
    },
  });
  app.openapi(route, async (c) => {
    const body = kit.body(c, { json: () => c.req.valid("json"), form: () => c.req.valid("form") });
    const json = wantsJson(c.req.header("accept")) || jsonOrForm(c.req.header("content-type")) === "json";
    try {
      const { userId } = await verifyEmail(await kit.deps(...VERIFY_EMAIL_DEPS), kit.kind, body.token);
      c.set("auditActor", userId);
    } catch (err) {
      if (json || !(err instanceof AuthError) || err.status >= 500) throw err;
      const page = renderPage({
        appName: config.appName,
        title: "Verification failed",
        message: err.message,
      });
      return c.body(page, err.status as 400, pageHeaders());
    }
    if (json) return c.json({ message: DONE }, 200);
    const page = renderPage({
      appName: config.appName,
      title: "Email verified",
      message: `${DONE}. You can now log in.`,
    });
    return c.body(page, 200, pageHeaders());
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
