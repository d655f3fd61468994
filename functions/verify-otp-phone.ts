import { createRoute } from "@hono/zod-openapi";
import { handle } from "hono/aws-lambda";
import { verifyPhoneOtp } from "../shared/accounts/verify-phone-otp";
import { defineAccountFunction } from "../shared/http/account-function";
import { MessageResponse, problemResponses } from "../shared/http/account-schemas";
import { formOrJsonBody, jsonOrForm } from "../shared/http/body-type";
import { VerifyOtpBody, VerifyOtpQuery } from "../shared/http/recovery-schemas";

const VERIFIED = { message: "Phone number verified successfully" } as const;

/**
 * `GET /{kind}/verify_otp_phone?otp=` (as the seed took it) and `POST /{kind}/verify_otp_phone`
 * (`otp` as JSON or form; preferred, the code stays out of URLs). Marks the phone the code was sent
 * to as the account's verified phone. Any wrong, expired or used-up code is 400 `invalid_otp`.
 */
export const app = defineAccountFunction("verify-otp-phone", (app, kit, kind) => {
  const responses = {
    200: { description: "Phone verified", content: { "application/json": { schema: MessageResponse } } },
  };
  const get = createRoute({
    method: "get",
    path: `/${kind}/verify_otp_phone`,
    summary: "Confirm the SMS code (query form, kept for seed clients)",
    tags: [kind],
    security: [{ bearerAuth: [] }],
    middleware: [kit.requireAuth(kind, "verify_otp_phone"), kit.rateLimit("verify_otp_phone")] as const,
    request: { query: VerifyOtpQuery },
    responses: { ...responses, ...problemResponses(400, 401, 422, 429, 503) },
  });
  app.openapi(get, async (c) => {
    await verifyPhoneOtp(await kit.deps(), c.get("principal"), c.req.valid("query").otp);
    return c.json(VERIFIED, 200);
  });

  const post = createRoute({
    method: "post",
    path: `/${kind}/verify_otp_phone`,
    summary: "Confirm the SMS code",
    tags: [kind],
    security: [{ bearerAuth: [] }],
    middleware: [kit.requireAuth(kind, "verify_otp_phone"), kit.rateLimit("verify_otp_phone")] as const,
    request: {
      body: formOrJsonBody(VerifyOtpBody),
    },
    responses: { ...responses, ...problemResponses(400, 401, 413, 415, 422, 429, 503) },
  });
  app.openapi(post, async (c) => {
    const body =
      jsonOrForm(c.req.header("content-type")) === "json" ? c.req.valid("json") : c.req.valid("form");
    await verifyPhoneOtp(await kit.deps(), c.get("principal"), body.otp);
    return c.json(VERIFIED, 200);
  });
});

export const handler = handle(app);
