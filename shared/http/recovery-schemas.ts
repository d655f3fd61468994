import * as z from "zod";
import { EmailSchema, PasswordSchema, PhoneSchema } from "./account-schemas";

/**
 * Request and response schemas of password reset, password change, phone verification, the
 * refresh-token grant and log-out-everywhere. Bodies are `.strict()` and every value must be a
 * string, so unknown fields and operator objects (`{"$ne": null}`) are 422 (DESIGN.md §9).
 */

/** A one-time link token or refresh token as sent back by a client (looked up by hash, never parsed). */
const OpaqueTokenSchema = z.string().min(1).max(512);

/** `POST /{kind}/verify`: the token of the emailed verification link (its confirmation page posts it as a form). */
export const VerifyEmailBody = z
  .object({ token: OpaqueTokenSchema })
  .strict()
  .meta({ id: "VerifyEmailRequest" });

export const ForgetPasswordBody = z
  .object({ email: EmailSchema })
  .strict()
  .meta({ id: "ForgetPasswordRequest" });

/** `GET /{kind}/forget_password?email=` as the seed took it. */
export const ForgetPasswordQuery = z.object({ email: EmailSchema });

export const ResetFormQuery = z.object({
  token: z
    .string()
    .min(16)
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/, "malformed token"),
});

export const ResetPasswordBody = z
  .object({ token: OpaqueTokenSchema, password: PasswordSchema })
  .strict()
  .meta({ id: "ResetPasswordRequest" });

export const ChangePasswordBody = z
  .object({ current_password: PasswordSchema, new_password: PasswordSchema })
  .strict()
  .meta({ id: "ChangePasswordRequest" });

export const OtpPhoneBody = z
  .object({ phone: PhoneSchema.optional() })
  .strict()
  .meta({ id: "SendPhoneOtpRequest" });

const OtpSchema = z
  .string()
  .trim()
  .regex(/^\d{6}$/, "must be the 6-digit code")
  .meta({ example: "042137" });

export const VerifyOtpBody = z.object({ otp: OtpSchema }).strict().meta({ id: "VerifyPhoneOtpRequest" });
export const VerifyOtpQuery = z.object({ otp: OtpSchema });

/**
 * OAuth2 refresh grant form (RFC 6749 §6). `grant_type` is any string here so an unsupported one
 * gets the OAuth2 `unsupported_grant_type` error rather than a schema error; `scope` and client
 * fields are accepted and ignored (public clients, no client authentication).
 */
export const RefreshTokenForm = z
  .object({
    grant_type: z.string().max(100),
    refresh_token: OpaqueTokenSchema,
    scope: z.string().max(200).optional(),
    client_id: z.string().max(200).optional(),
    client_secret: z.string().max(200).optional(),
  })
  .strict()
  .meta({ id: "RefreshTokenRequest" });

export const SessionTokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal("bearer"),
    expires_in: z.number().int().meta({ example: 1800 }),
    refresh_token: z.string().meta({ example: "pQ1Gg0x3c6b0S2y3w1J5z9m7XvU4l8Ok2aR0dHfT1eM" }),
  })
  .meta({ id: "SessionTokenResponse" });

export const ChangePasswordResponse = z
  .object({
    message: z.string(),
    access_token: z.string(),
    token_type: z.literal("bearer"),
    expires_in: z.number().int(),
    refresh_token: z.string(),
  })
  .meta({ id: "ChangePasswordResponse" });
