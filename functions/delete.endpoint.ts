import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, PASSWORD_FUNCTION } from "../shared/http/endpoint";

/** Account deletion: `DELETE /{kind}/delete`. */
export const spec = defineEndpoint({
  name: "delete",
  routes: [{ method: "DELETE", path: "/delete" }],
  auth: "bearer",
  rateLimit: "delete",
  audit: { action: "account_delete" },
  errors: ["incorrect_password", "password_too_long"],
  secrets: [...REDIS_SECRETS, "EncryptionKey", "JwtSecret", "MongoUrl", "QstashToken"],
  ...PASSWORD_FUNCTION,
});
