import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, PASSWORD_FUNCTION } from "../shared/http/endpoint";

/** OAuth2 password grant: `POST /{kind}/login`. */
export const spec = defineEndpoint({
  name: "login",
  routes: [{ method: "POST", path: "/login" }],
  auth: "none",
  rateLimit: "login",
  audit: { action: "login", emailField: "username" },
  errors: ["invalid_credentials", "email_not_verified", "too_many_attempts", "password_too_long"],
  secrets: [...REDIS_SECRETS, "EmailSalt", "EncryptionKey", "JwtSecret", "MongoUrl"],
  ...PASSWORD_FUNCTION,
});
