import { handle } from "hono/aws-lambda";
import * as z from "zod";
import { AuthError } from "../shared/errors";
import { defineAccountFunction } from "../shared/http/account-function";
import { VerifyQuery } from "../shared/http/account-schemas";
import { lazyApp } from "../shared/http/function-app";
import { pageHeaders, renderPage, wantsJson } from "../shared/http/pages";
import { renderVerifyConfirmation } from "../shared/http/verify-pages";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./verify-form.endpoint";

/**
 * `GET /{kind}/verify?token=` (and `HEAD`): the page the verification email links to. It never
 * verifies and never looks the token up (opening the page uses nothing up; a bad link is reported
 * when the button is pressed): link scanners that fetch it leave the address unverified (finding
 * F12). The page's button POSTs the token to `/{kind}/verify`. A client that asks for JSON gets
 * 406 `not_acceptable` (this link has only an HTML form; API clients POST the token), never a
 * success it could mistake for a verification.
 */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const route = kit.route({
    method: "get",
    path: "/verify",
    summary: "Email verification link: a confirmation page whose button POSTs the token",
    description:
      "Opening the link verifies nothing (link scanners fetch links too); the page's button posts the token " +
      "to `POST /{kind}/verify`, which API clients call directly.",
    // Any string: a mangled link gets the "invalid link" page below, not a JSON validation error.
    request: { query: z.object({ token: z.string().optional() }) },
    responses: {
      200: { description: "The confirmation page", content: { "text/html": { schema: z.string() } } },
      400: { description: "Malformed link", content: { "text/html": { schema: z.string() } } },
    },
  });
  app.openapi(route, (c) => {
    const { config } = kit.ctx;
    if (wantsJson(c.req.header("accept")))
      throw new AuthError("not_acceptable", {
        detail: "This link only renders a confirmation page (text/html): POST the token to verify",
      });
    const parsed = VerifyQuery.safeParse(c.req.valid("query"));
    if (!parsed.success) {
      const page = renderPage({
        appName: config.appName,
        title: "Verification failed",
        message: "This verification link is invalid or has expired",
      });
      return c.body(page, 400, pageHeaders());
    }
    const page = renderVerifyConfirmation({
      appName: config.appName,
      appUrl: config.appUrl,
      kind: kit.kind,
      token: parsed.data.token,
    });
    return c.body(page, 200, pageHeaders());
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
