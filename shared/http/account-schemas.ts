import * as z from "zod";
import { PASSWORD_MAX_BYTES_DEFAULT } from "../config/password";
import { ERRORS, type ErrorCode } from "../errors";

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
  .meta({ example: "john.doe@example.com" });

/** E.164 (`+` then up to 15 digits, no spaces); checked further with libphonenumber. */
export const PhoneSchema = z
  .string()
  .trim()
  .regex(/^\+[1-9]\d{6,14}$/, "must be an E.164 phone number such as +14155552671")
  .meta({ example: "+14155552671" });

/** What clients of the seed sent: an ISO 3166-1 alpha-2 code (`US`) or a calling code (`+1`). */
export const CountryCodeSchema = z
  .string()
  .trim()
  .regex(/^(\+?\d{1,4}|[A-Za-z]{2})$/, "must be a 2-letter country code or a calling code like +1")
  .meta({ example: "US" });

/**
 * The description every password field carries in the OpenAPI document: the one limit, its unit
 * (bytes of UTF-8, `PASSWORD_MAX_BYTES`) and its answer (`422 password_too_long`).
 */
export function passwordLimitDescription(maxBytes: number): string {
  return (
    `At most ${maxBytes} bytes of UTF-8 (PASSWORD_MAX_BYTES): ${maxBytes} ASCII characters, fewer in ` +
    "other scripts (`maxLength` counts characters, so it is an upper bound). A longer password is " +
    "refused with 422 `password_too_long` before any hashing."
  );
}

/**
 * Passwords. The one limit is the configured byte cap, enforced by the use-cases and the hasher
 * (422 `password_too_long`, on every route); the schema does not repeat it as a character count
 * (the request body limit bounds the size). It is advertised as `maxLength` and in the
 * description: here with the default, which `infra/openapi.ts` replaces by the configured cap
 * ({@link applyPasswordLimit}); fields are found by `format: "password"`.
 */
export const PasswordSchema = z
  .string()
  .min(1)
  .meta({
    format: "password",
    maxLength: PASSWORD_MAX_BYTES_DEFAULT,
    description: passwordLimitDescription(PASSWORD_MAX_BYTES_DEFAULT),
    example: "correct-Horse-battery-staple-42",
  });

/**
 * Sets every password field (`format: "password"`) of an OpenAPI document, wherever it is (inline,
 * components, form bodies), to the configured byte cap: `maxLength` and the description. Mutates
 * and returns `document`.
 */
export function applyPasswordLimit<T>(document: T, maxBytes: number): T {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (node === null || typeof node !== "object") return;
    const record = node as Record<string, unknown>;
    if (record.type === "string" && record.format === "password") {
      record.maxLength = maxBytes;
      record.description = passwordLimitDescription(maxBytes);
    }
    for (const value of Object.values(record)) visit(value);
  };
  visit(document);
  return document;
}

export const RegisterBody = z
  .object({
    first_name: NameSchema.meta({ example: "John" }),
    last_name: NameSchema.meta({ example: "Doe" }),
    email: EmailSchema,
    phone: PhoneSchema,
    country_code: CountryCodeSchema,
    password: PasswordSchema,
  })
  .strict()
  .meta({ id: "RegisterRequest" });

export const RegisterResponse = z
  .object({
    message: z.literal("User created successfully"),
    id: z.string().meta({ example: "usr_0aQ3kVx7m9TQm2l0b1c2dw" }),
    email: z.literal("[ENCRYPTED]"),
  })
  .meta({ id: "RegisterResponse" });

/** OAuth2 password grant form fields (RFC 6749 §4.3.2); `client_*` and `scope` accepted and ignored. */
export const LoginForm = z
  .object({
    grant_type: z.literal("password").optional(),
    username: z.string().min(1).max(320).meta({ example: "john.doe@example.com" }),
    password: PasswordSchema,
    scope: z.string().max(200).optional(),
    client_id: z.string().max(200).optional(),
    client_secret: z.string().max(200).optional(),
  })
  .strict()
  .meta({ id: "LoginForm" });

export const TokenResponse = z
  .object({
    access_token: z.string().meta({
      example:
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfMGFRM2tWeDdtOVRRbTJsMGIxYzJkdyJ9.c2lnbmF0dXJl",
    }),
    token_type: z.literal("bearer"),
    expires_in: z.number().int().meta({ example: 1800, description: "Access token lifetime in seconds" }),
    /** Opaque 256-bit refresh token, rotated on every use at `POST /{kind}/token`. */
    refresh_token: z.string().meta({ example: "pQ1Gg0x3c6b0S2y3w1J5z9m7XvU4l8Ok2aR0dHfT1eM" }),
  })
  .meta({ id: "TokenResponse" });

export const ProfileResponse = z
  .object({
    id: z.string().meta({ example: "usr_0aQ3kVx7m9TQm2l0b1c2dw" }),
    first_name: z.string().meta({ example: "John" }),
    last_name: z.string().meta({ example: "Doe" }),
    email: z.string().meta({ example: "john.doe@example.com" }),
    phone: z.string().meta({ example: "+14155552671" }),
    country_code: z.string().meta({ example: "US" }),
    country: z.string().nullable().meta({ example: "US" }),
    is_email_verified: z.boolean().meta({ example: true }),
    phone_verified: z.boolean().meta({ example: false }),
    created_at: z.string().meta({ example: "2026-11-29T12:00:00.000Z" }),
  })
  .meta({ id: "Profile" });

export const UpdateBody = z
  .object({
    first_name: NameSchema.optional().meta({ example: "Johnny" }),
    last_name: NameSchema.optional().meta({ example: "Doe" }),
    phone: PhoneSchema.optional(),
    country_code: CountryCodeSchema.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: "at least one field is required" })
  .meta({ id: "UpdateProfileRequest" });

export const DeleteBody = z
  .object({ password: PasswordSchema })
  .strict()
  .meta({ id: "DeleteAccountRequest" });

export const MessageResponse = z
  .object({ message: z.string().meta({ example: "Successfully logged out" }) })
  .meta({ id: "Message" });

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
    type: z.string().meta({ example: "urn:problem-type:auth:validation_failed" }),
    title: z.string().meta({ example: "Unprocessable Content" }),
    status: z.number().int().meta({ example: 422 }),
    detail: z.string().meta({ example: "The request is invalid" }),
    code: z.string().meta({ example: "validation_failed", description: "Stable error code to switch on" }),
    request_id: z.string().optional().meta({ example: "1b4f0e9a-6c1d-4e8f-9a55-3f8e2b7c9d01" }),
    errors: z
      .array(z.object({ field: z.string(), message: z.string(), code: z.string() }))
      .optional()
      .meta({
        description: "422 only: the offending fields (never their values)",
        example: [{ field: "email", message: "must be an email address", code: "invalid_format" }],
      }),
    mfa_token: z.string().optional().meta({
      description:
        "403 `mfa_required` only: the single-use token to send to `POST /{kind}/mfa/verify` (and `/mfa/challenge`)",
      example: "Yk3d0nQy8mJ7lC2sV1xW5pT9rE4uA6oI0hG3fD2sK1a",
    }),
    methods: z
      .array(z.enum(["totp", "sms", "recovery_code"]))
      .optional()
      .meta({
        description: "403 `mfa_required` only: the ways the second factor can be passed",
        example: ["totp", "recovery_code"],
      }),
    expires_in: z
      .number()
      .int()
      .optional()
      .meta({ description: "403 `mfa_required` only: seconds the `mfa_token` stays valid", example: 300 }),
  })
  .meta({ id: "Problem", description: "RFC 9457 problem details (`application/problem+json`)" });

/**
 * The error responses of a route that can answer `codes`, as OpenAPI response objects: one per
 * status (from the error catalogue), whose description names the codes and whose `x-problem-codes`
 * lists them, so clients see exactly which `code` values each route may return.
 */
export function problemResponsesFor(codes: readonly ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const { status } = ERRORS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses = problemResponses(...byStatus.keys());
  for (const [status, list] of byStatus) {
    const response = responses[status];
    if (!response) continue;
    response.description = `${response.description}: ${list.map((c) => `\`${c}\``).join(", ")}`;
    response["x-problem-codes"] = list;
  }
  return responses;
}

/** The standard error responses of a route, as OpenAPI response objects. */
export function problemResponses(...statuses: number[]) {
  const described: Record<number, string> = {
    400: "Malformed request",
    401: "Missing, invalid or revoked credentials",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Rate limited",
    500: "Internal error",
    503: "A dependency is unavailable",
  };
  // The headers clients act on: when to retry (RFC 9110 §10.2.3) and how to authenticate (RFC 6750 §3).
  const retryAfter = {
    "Retry-After": { description: "Seconds to wait before retrying", schema: { type: "integer" as const } },
  };
  const headers: Record<
    number,
    Record<string, { description: string; schema: { type: "integer" | "string" } }>
  > = {
    401: { "WWW-Authenticate": { description: "The bearer challenge", schema: { type: "string" } } },
    429: retryAfter,
    503: retryAfter,
  };
  const responses: Record<number, ProblemResponseObject> = {};
  for (const s of statuses) {
    responses[s] = {
      description: described[s] ?? "Error",
      ...(headers[s] ? { headers: headers[s] } : {}),
      content: { "application/problem+json": { schema: ProblemSchema } },
    };
  }
  return responses;
}

/** One problem response of a route, as an OpenAPI response object. */
export interface ProblemResponseObject {
  description: string;
  headers?: Record<string, { description: string; schema: { type: "integer" | "string" } }>;
  content: { "application/problem+json": { schema: typeof ProblemSchema } };
  /** The catalogue codes this response may carry (an OpenAPI specification extension). */
  "x-problem-codes"?: ErrorCode[];
}
