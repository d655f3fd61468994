import { handle } from "hono/aws-lambda";
import { VERIFY_PHONE_OTP_DEPS, verifyPhoneOtp } from "../shared/accounts/verify-phone-otp";
import { defineAccountFunction } from "../shared/http/account-function";
import { MessageResponse } from "../shared/http/account-schemas";
import { formOrJsonBody } from "../shared/http/body-type";
import { lazyApp } from "../shared/http/function-app";
import { VerifyOtpBody, VerifyOtpQuery } from "../shared/http/recovery-schemas";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./verify-otp-phone.endpoint";

const VERIFIED = { message: "Phone number verified successfully" } as const;

/**
 * `GET /{kind}/verify_otp_phone?otp=` (as the seed took it) and `POST /{kind}/verify_otp_phone`
 * (`otp` as JSON or form; preferred, the code stays out of URLs). Marks the phone the code was sent
 * to as the account's verified phone. Any wrong, expired or used-up code is 400 `invalid_otp`.
 */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const responses = {
    200: { description: "Phone verified", content: { "application/json": { schema: MessageResponse } } },
  };
  const get = kit.route({
    method: "get",
    path: "/verify_otp_phone",
    summary: "Confirm the SMS code (query form, kept for seed clients)",
    request: { query: VerifyOtpQuery },
    responses,
  });
  app.openapi(get, async (c) => {
    await verifyPhoneOtp(
      await kit.deps(...VERIFY_PHONE_OTP_DEPS),
      c.get("principal"),
      c.req.valid("query").otp,
    );
    return c.json(VERIFIED, 200);
  });

  const post = kit.route({
    method: "post",
    path: "/verify_otp_phone",
    summary: "Confirm the SMS code",
    request: { body: formOrJsonBody(VerifyOtpBody) },
    responses,
  });
  app.openapi(post, async (c) => {
    const body = kit.body(c, { json: () => c.req.valid("json"), form: () => c.req.valid("form") });
    await verifyPhoneOtp(await kit.deps(...VERIFY_PHONE_OTP_DEPS), c.get("principal"), body.otp);
    return c.json(VERIFIED, 200);
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
