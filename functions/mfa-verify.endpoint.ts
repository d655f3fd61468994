import { REDIS_SECRETS } from "../shared/config/secrets";
import { SMS_SEND_CODES } from "../shared/errors";
import { defineEndpoint, TOKEN_FUNCTION } from "../shared/http/endpoint";

/** The login's second step: `POST /{kind}/mfa/challenge` (send an SMS code), `POST /{kind}/mfa/verify`. */
export const spec = defineEndpoint({
  name: "mfa-verify",
  routes: [
    { method: "POST", path: "/mfa/challenge" },
    { method: "POST", path: "/mfa/verify" },
  ],
  auth: "none",
  rateLimit: "mfa_verify",
  audit: { action: "mfa_verify" },
  errors: [
    "invalid_mfa_token",
    "invalid_mfa_code",
    "mfa_method_not_enrolled",
    "phone_not_verified",
    "too_many_attempts",
    "conflict",
    ...SMS_SEND_CODES,
  ],
  secrets: [...REDIS_SECRETS, "EmailSalt", "EncryptionKey", "JwtSecret", "MongoUrl", "QstashToken"],
  ...TOKEN_FUNCTION,
});
