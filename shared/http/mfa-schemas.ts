import * as z from "zod";
import { PasswordSchema } from "./account-schemas";

/**
 * Request and response schemas of the second-factor routes (`/{kind}/mfa/*`). Bodies are
 * `.strict()` and every value a bounded string, so unknown fields and operator objects are 422
 * (DESIGN.md §9).
 */

/** A code as typed: a 6-digit TOTP or SMS code, or a recovery code (`xxxxxx-xxxxxx`). */
const CodeSchema = z
  .string()
  .trim()
  .min(6)
  .max(32)
  .meta({ example: "492039", description: "A 6-digit TOTP or SMS code, or a recovery code" });

/** The MFA token of a `403 mfa_required` login answer (looked up by hash, never parsed). */
const MfaTokenSchema = z
  .string()
  .min(16)
  .max(200)
  .meta({ example: "Yk3d0nQy8mJ7lC2sV1xW5pT9rE4uA6oI0hG3fD2sK1a" });

const MethodSchema = z.enum(["totp", "sms", "recovery_code"]);
const FactorSchema = z.enum(["totp", "sms"]);
const RecoveryCodesSchema = z.array(z.string()).meta({
  description: "Single-use recovery codes, shown only in this answer",
  example: ["k3v9qa-7hx2mf"],
});

export const TotpSetupResponse = z
  .object({
    secret: z.string().meta({
      description: "RFC 6238 secret, base32 (SHA-1, 6 digits, 30 s)",
      example: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    }),
    otpauth_uri: z.string().meta({
      description: "Key Uri Format URI for authenticator apps (show it as a QR code)",
      example:
        "otpauth://totp/Auth%20Service:ada%40example.com?issuer=Auth%20Service&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30",
    }),
  })
  .meta({ id: "TotpSetupResponse" });

export const TotpEnableBody = z
  .object({ code: CodeSchema, password: PasswordSchema })
  .strict()
  .meta({ id: "TotpEnableRequest" });

export const PasswordOnlyBody = z
  .object({ password: PasswordSchema })
  .strict()
  .meta({ id: "MfaPasswordRequest" });

export const MfaDisableBody = z
  .object({ method: FactorSchema, password: PasswordSchema, code: CodeSchema })
  .strict()
  .meta({ id: "MfaDisableRequest" });

export const MfaEnabledResponse = z
  .object({ methods: z.array(MethodSchema), recovery_codes: RecoveryCodesSchema })
  .meta({ id: "MfaEnabledResponse" });

export const RecoveryCodesResponse = z
  .object({ recovery_codes: RecoveryCodesSchema })
  .meta({ id: "RecoveryCodesResponse" });

export const MfaStatusResponse = z
  .object({
    methods: z.array(MethodSchema).meta({ example: ["totp", "recovery_code"] }),
    recovery_codes_remaining: z.number().int().meta({ example: 10 }),
    totp_pending: z.boolean().meta({ description: "An authenticator setup waits for its confirming code" }),
  })
  .meta({ id: "MfaStatus" });

export const MfaChallengeBody = z
  .object({ mfa_token: MfaTokenSchema, method: z.literal("sms") })
  .strict()
  .meta({ id: "MfaChallengeRequest" });

export const MfaVerifyBody = z
  .object({ mfa_token: MfaTokenSchema, method: MethodSchema, code: CodeSchema })
  .strict()
  .meta({ id: "MfaVerifyRequest" });
