import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, TOKEN_FUNCTION } from "../shared/http/endpoint";

/** Own profile: `GET /{kind}/`. */
export const spec = defineEndpoint({
  name: "profile",
  routes: [{ method: "GET", path: "/" }],
  auth: "bearer",
  rateLimit: "profile",
  secrets: [...REDIS_SECRETS, "EncryptionKey", "JwtSecret", "MongoUrl"],
  ...TOKEN_FUNCTION,
});
