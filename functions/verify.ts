import { z } from "@hono/zod-openapi";
import { handle } from "hono/aws-lambda";
import { VERIFY_EMAIL_DEPS, verifyEmail } from "../shared/accounts/verify-email";
import { AuthError } from "../shared/errors";
import { defineAccountFunction } from "../shared/http/account-function";
import { MessageResponse, ProblemSchema, VerifyQuery } from "../shared/http/account-schemas";
import { lazyApp } from "../shared/http/function-app";
import { pageHeaders, renderPage, wantsJson } from "../shared/http/pages";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./verify.endpoint";

/**
 * `GET /{kind}/verify?token=`: the link in the verification email. Answers an HTML page for a
 * person, or JSON with `Accept: application/json`. A bad token is a 400 in both forms.
 */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const route = kit.route({
    method: "get",
    path: "/verify",
    summary: "Verify an email address with the one-time link token",
    request: { query: VerifyQuery.partial() },
    responses: {
      200: {
        description: "Email verified",
        content: { "text/html": { schema: z.string() }, "application/json": { schema: MessageResponse } },
      },
      400: {
        description:
          "The link is invalid, used or expired (an HTML page, or problem+json with Accept: application/json): `invalid_or_expired_token`",
        content: {
          "text/html": { schema: z.string() },
          "application/problem+json": { schema: ProblemSchema },
        },
      },
    },
  });
  app.openapi(route, async (c) => {
    const json = wantsJson(c.req.header("accept"));
    const appName = kit.ctx.config.appName;
    const parsed = VerifyQuery.safeParse(c.req.valid("query"));
    try {
      if (!parsed.success)
        throw new AuthError("invalid_or_expired_token", {
          detail: "This verification link is invalid or has expired",
        });
      const { userId } = await verifyEmail(await kit.deps(...VERIFY_EMAIL_DEPS), kit.kind, parsed.data.token);
      c.set("auditActor", userId);
    } catch (err) {
      if (json || !(err instanceof AuthError) || err.status >= 500) throw err;
      const page = renderPage({ appName, title: "Verification failed", message: err.message });
      return c.body(page, err.status as 400, pageHeaders());
    }
    const message = "Email verified successfully";
    if (json) return c.json({ message }, 200);
    const page = renderPage({ appName, title: "Email verified", message: `${message}. You can now log in.` });
    return c.body(page, 200, pageHeaders());
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
