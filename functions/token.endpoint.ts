import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, TOKEN_FUNCTION } from "../shared/http/endpoint";

/** OAuth2 refresh grant: `POST /{kind}/token`. */
export const spec = defineEndpoint({
  name: "token",
  routes: [{ method: "POST", path: "/token" }],
  auth: "none",
  rateLimit: "token",
  audit: { action: "token_refresh" },
  errors: ["invalid_grant", "unsupported_grant_type"],
  secrets: [...REDIS_SECRETS, "EncryptionKey", "JwtSecret", "MongoUrl"],
  ...TOKEN_FUNCTION,
});
