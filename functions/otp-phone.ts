import { createRoute, type z } from "@hono/zod-openapi";
import { handle } from "hono/aws-lambda";
import { parsePhone } from "../shared/accounts/phone";
import { sendPhoneOtp } from "../shared/accounts/send-phone-otp";
import { invalidField } from "../shared/errors";
import { defineAccountFunction } from "../shared/http/account-function";
import { MessageResponse, problemResponses } from "../shared/http/account-schemas";
import { formOrJsonBody, jsonOrForm } from "../shared/http/body-type";
import { OtpPhoneBody } from "../shared/http/recovery-schemas";

const invalidPhone = (message: string) => invalidField("phone", message, "invalid_phone");

/**
 * `POST /{kind}/otp_phone`: sends a 6-digit code by SMS to `phone` (E.164, JSON or form) or, with
 * no body, to the profile's number. `202` once the SMS is queued; the code is never in a response.
 * One send per user per cool-down (429 `otp_cooldown` with `Retry-After`), a daily cap per number.
 */
export const app = defineAccountFunction("otp-phone", (app, kit, kind) => {
  const route = createRoute({
    method: "post",
    path: `/${kind}/otp_phone`,
    summary: "Send a phone verification code by SMS",
    tags: [kind],
    security: [{ bearerAuth: [] }],
    middleware: [kit.requireAuth(kind, "otp_phone"), kit.rateLimit("otp_phone")] as const,
    request: {
      body: formOrJsonBody(OtpPhoneBody),
    },
    responses: {
      202: { description: "SMS queued", content: { "application/json": { schema: MessageResponse } } },
      ...problemResponses(400, 401, 413, 415, 422, 429, 503),
    },
  });
  app.openapi(route, async (c) => {
    // No Content-Type: no body, so the profile's number.
    const type = c.req.header("content-type");
    let requested: z.infer<typeof OtpPhoneBody> = {};
    if (type !== undefined)
      requested = jsonOrForm(type) === "json" ? c.req.valid("json") : c.req.valid("form");
    let phone: string | null = null;
    if (requested.phone !== undefined) {
      const parsed = parsePhone(requested.phone);
      if (!parsed.ok) throw invalidPhone("is not a possible phone number");
      if (!parsed.valid) throw invalidPhone("is not an assigned number that can receive SMS");
      phone = parsed.e164;
    }
    await sendPhoneOtp(await kit.deps(), c.get("principal"), phone, c.get("cachedProfile"));
    return c.json({ message: "OTP sent to your phone" }, 202);
  });
});

export const handler = handle(app);
