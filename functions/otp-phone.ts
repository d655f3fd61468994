import { handle } from "hono/aws-lambda";
import type * as z from "zod";
import { loadParsePhone } from "../shared/accounts/load-phone";
import { SEND_PHONE_OTP_DEPS, sendPhoneOtp } from "../shared/accounts/send-phone-otp";
import { invalidField } from "../shared/errors";
import { defineAccountFunction } from "../shared/http/account-function";
import { MessageResponse } from "../shared/http/account-schemas";
import { formOrJsonBody } from "../shared/http/body-type";
import { lazyApp } from "../shared/http/function-app";
import { OtpPhoneBody } from "../shared/http/recovery-schemas";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./otp-phone.endpoint";

const invalidPhone = (message: string) => invalidField("phone", message, "invalid_phone");

/**
 * `POST /{kind}/otp_phone`: sends a 6-digit code by SMS to `phone` (E.164, JSON or form) or, with
 * no body, to the profile's number. `202` once the SMS is queued; the code is never in a response.
 * The SMS rules (`shared/accounts/sms-guard.ts`) refuse other countries and non-mobile numbers
 * (422) and enforce the cool-down and the budgets (429 with `Retry-After`; 503 for the service-wide
 * hourly budget).
 */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const route = kit.route({
    method: "post",
    path: "/otp_phone",
    summary: "Send a phone verification code by SMS",
    request: { body: formOrJsonBody(OtpPhoneBody) },
    responses: {
      202: { description: "SMS queued", content: { "application/json": { schema: MessageResponse } } },
    },
  });
  app.openapi(route, async (c) => {
    // No Content-Type: no body, so the profile's number.
    let requested: z.infer<typeof OtpPhoneBody> = {};
    if (c.req.header("content-type") !== undefined)
      requested = kit.body(c, { json: () => c.req.valid("json"), form: () => c.req.valid("form") });
    let phone: string | null = null;
    if (requested.phone !== undefined) {
      const parsed = (await loadParsePhone())(requested.phone);
      if (!parsed.ok) throw invalidPhone("is not a possible phone number");
      if (!parsed.valid) throw invalidPhone("is not an assigned number that can receive SMS");
      phone = parsed.e164;
    }
    await sendPhoneOtp(
      await kit.deps(...SEND_PHONE_OTP_DEPS),
      c.get("principal"),
      phone,
      c.get("cachedProfile"),
    );
    return c.json({ message: "OTP sent to your phone" }, 202);
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
