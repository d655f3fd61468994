import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, PASSWORD_FUNCTION } from "../shared/http/endpoint";

/** Password reset: `POST /{kind}/reset_password`. */
export const spec = defineEndpoint({
  name: "reset-password",
  routes: [{ method: "POST", path: "/reset_password" }],
  auth: "none",
  rateLimit: "reset_password",
  audit: { action: "password_reset" },
  errors: [
    "invalid_or_expired_token",
    "cross_site_request",
    "weak_password",
    "password_too_long",
    "conflict",
  ],
  secrets: [...REDIS_SECRETS, "EncryptionKey", "MongoUrl", "QstashToken"],
  ...PASSWORD_FUNCTION,
});
