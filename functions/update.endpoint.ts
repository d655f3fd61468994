import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, TOKEN_FUNCTION } from "../shared/http/endpoint";

/** Profile update: `PUT /{kind}/update`. */
export const spec = defineEndpoint({
  name: "update",
  routes: [{ method: "PUT", path: "/update" }],
  auth: "bearer",
  rateLimit: "update",
  audit: { action: "profile_update" },
  errors: ["conflict"],
  secrets: [...REDIS_SECRETS, "EncryptionKey", "JwtSecret", "MongoUrl"],
  ...TOKEN_FUNCTION,
});
