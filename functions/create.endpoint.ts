import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, PASSWORD_FUNCTION } from "../shared/http/endpoint";

/** Registration: `POST /{kind}/create`. */
export const spec = defineEndpoint({
  name: "create",
  routes: [{ method: "POST", path: "/create" }],
  auth: "none",
  rateLimit: "create",
  audit: { action: "register", emailField: "email" },
  errors: ["weak_password", "password_too_long", "queue_unavailable"],
  secrets: [...REDIS_SECRETS, "EmailSalt", "EncryptionKey", "MongoUrl", "QstashToken"],
  ...PASSWORD_FUNCTION,
});
