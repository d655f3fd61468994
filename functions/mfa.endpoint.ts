import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, PASSWORD_FUNCTION } from "../shared/http/endpoint";

/** Second-factor enrolment (bearer, password step-up): `/{kind}/mfa/totp/*`, `/mfa/sms/enable`, `/mfa/disable`, `/mfa/recovery_codes`. */
export const spec = defineEndpoint({
  name: "mfa",
  routes: [
    { method: "POST", path: "/mfa/totp/setup" },
    { method: "POST", path: "/mfa/totp/enable" },
    { method: "POST", path: "/mfa/sms/enable" },
    { method: "POST", path: "/mfa/disable" },
    { method: "POST", path: "/mfa/recovery_codes" },
  ],
  auth: "bearer",
  rateLimit: "mfa",
  audit: { action: "mfa_change" },
  errors: [
    "incorrect_password",
    "too_many_attempts",
    "password_too_long",
    "invalid_mfa_code",
    "mfa_already_enabled",
    "mfa_setup_required",
    "mfa_not_enabled",
    "mfa_method_not_enrolled",
    "phone_not_verified",
    "conflict",
    "queue_unavailable",
  ],
  secrets: [...REDIS_SECRETS, "EmailSalt", "EncryptionKey", "JwtSecret", "MongoUrl", "QstashToken"],
  ...PASSWORD_FUNCTION,
});
