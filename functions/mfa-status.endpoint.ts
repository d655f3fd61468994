import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, TOKEN_FUNCTION } from "../shared/http/endpoint";

/** What second factor is enrolled: `GET /{kind}/mfa`. */
export const spec = defineEndpoint({
  name: "mfa-status",
  routes: [{ method: "GET", path: "/mfa" }],
  auth: "bearer",
  rateLimit: "profile",
  secrets: [...REDIS_SECRETS, "EncryptionKey", "JwtSecret", "MongoUrl"],
  ...TOKEN_FUNCTION,
});
