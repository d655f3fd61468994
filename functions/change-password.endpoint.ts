import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, PASSWORD_FUNCTION } from "../shared/http/endpoint";

/** Password change: `POST /{kind}/change_password`. */
export const spec = defineEndpoint({
  name: "change-password",
  routes: [{ method: "POST", path: "/change_password" }],
  auth: "bearer",
  rateLimit: "change_password",
  audit: { action: "password_change" },
  errors: ["incorrect_password", "weak_password", "password_too_long", "conflict"],
  secrets: [...REDIS_SECRETS, "EncryptionKey", "JwtSecret", "MongoUrl", "QstashToken"],
  ...PASSWORD_FUNCTION,
});
