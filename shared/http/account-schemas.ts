import { z } from "@hono/zod-openapi";

/**
 * Request and response schemas of the account API: one definition validates requests and
 * describes them in OpenAPI. Request objects are `.strict()`: an unknown field (e.g. `id`,
 * `email_verified`, `role`) is a 422, and every value must be a plain string, so a MongoDB
 * operator object like `{"$ne": null}` can never reach a query (DESIGN.md §9).
 */

/** No C0/C1 control characters or line breaks in short text fields. */
const NO_CONTROL = /^[^\p{Cc}\p{Zl}\p{Zp}]*$/u;

export const NameSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(NO_CONTROL, "must not contain control characters");

export const EmailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: "must be an email address" }))
  .openapi({ example: "john.doe@example.com" });

/** E.164 (`+` then up to 15 digits, no spaces); checked further with libphonenumber. */
export const PhoneSchema = z
  .string()
  .trim()
  .regex(/^\+[1-9]\d{6,14}$/, "must be an E.164 phone number such as +14155552671")
  .openapi({ example: "+14155552671" });

/** What clients of the seed sent: an ISO 3166-1 alpha-2 code (`US`) or a calling code (`+1`). */
export const CountryCodeSchema = z
  .string()
  .trim()
  .regex(/^(\+?\d{1,4}|[A-Za-z]{2})$/, "must be a 2-letter country code or a calling code like +1")
  .openapi({ example: "US" });

/** Passwords: length by characters here (≤1024 as a cheap guard); the byte cap and strength are policy. */
export const PasswordSchema = z
  .string()
  .min(1)
  .max(1024)
  .openapi({ example: "correct-Horse-battery-staple-42" });

export const RegisterBody = z
  .object({
    first_name: NameSchema.openapi({ example: "John" }),
    last_name: NameSchema.openapi({ example: "Doe" }),
    email: EmailSchema,
    phone: PhoneSchema,
    country_code: CountryCodeSchema,
    password: PasswordSchema,
  })
  .strict()
  .openapi("RegisterRequest");

export const RegisterResponse = z
  .object({
    message: z.literal("User created successfully"),
    id: z.string().openapi({ example: "usr_0aQ3kVx7m9TQm2l0b1c2dw" }),
    email: z.literal("[ENCRYPTED]"),
  })
  .openapi("RegisterResponse");

/** OAuth2 password grant form fields (RFC 6749 §4.3.2); `client_*` and `scope` accepted and ignored. */
export const LoginForm = z
  .object({
    grant_type: z.literal("password").optional(),
    username: z.string().min(1).max(320).openapi({ example: "john.doe@example.com" }),
    password: PasswordSchema,
    scope: z.string().max(200).optional(),
    client_id: z.string().max(200).optional(),
    client_secret: z.string().max(200).optional(),
  })
  .strict()
  .openapi("LoginForm");

export const TokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal("bearer"),
    expires_in: z.number().int().openapi({ example: 1800 }),
  })
  .openapi("TokenResponse");

export const ProfileResponse = z
  .object({
    id: z.string(),
    first_name: z.string(),
    last_name: z.string(),
    email: z.string(),
    phone: z.string(),
    country_code: z.string(),
    country: z.string().nullable().openapi({ example: "US" }),
    is_email_verified: z.boolean(),
    phone_verified: z.boolean(),
    created_at: z.string().openapi({ example: "2026-11-29T12:00:00.000Z" }),
  })
  .openapi("Profile");

export const UpdateBody = z
  .object({
    first_name: NameSchema.optional(),
    last_name: NameSchema.optional(),
    phone: PhoneSchema.optional(),
    country_code: CountryCodeSchema.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: "at least one field is required" })
  .openapi("UpdateProfileRequest");

export const DeleteBody = z.object({ password: PasswordSchema }).strict().openapi("DeleteAccountRequest");

export const MessageResponse = z.object({ message: z.string() }).openapi("Message");

export const VerifyQuery = z.object({
  token: z
    .string()
    .min(16)
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/, "malformed token"),
});

/** RFC 9457 problem details with this service's `code` and `request_id`. */
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ example: "validation_failed" }),
    request_id: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string(), code: z.string() })).optional(),
  })
  .openapi("Problem");

/** The standard error responses of a route, as OpenAPI response objects. */
export function problemResponses(...statuses: number[]) {
  const described: Record<number, string> = {
    400: "Malformed request",
    401: "Missing, invalid or revoked credentials",
    403: "Forbidden",
    409: "Conflict",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Rate limited",
    503: "A dependency is unavailable",
  };
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: described[s] ?? "Error",
        content: { "application/problem+json": { schema: ProblemSchema } },
      },
    ]),
  );
}
