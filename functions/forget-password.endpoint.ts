import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, TOKEN_FUNCTION } from "../shared/http/endpoint";

/** Password reset request: `GET|POST /{kind}/forget_password`. */
export const spec = defineEndpoint({
  name: "forget-password",
  routes: [
    { method: "GET", path: "/forget_password" },
    { method: "POST", path: "/forget_password" },
  ],
  auth: "none",
  rateLimit: "forget_password",
  audit: { action: "password_reset_request", emailField: "email" },
  errors: ["queue_unavailable"],
  secrets: [...REDIS_SECRETS, "EmailSalt", "EncryptionKey", "MongoUrl", "QstashToken"],
  ...TOKEN_FUNCTION,
});
