import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, TOKEN_FUNCTION } from "../shared/http/endpoint";

/** Email verification link: `GET /{kind}/verify?token=`. */
export const spec = defineEndpoint({
  name: "verify",
  routes: [{ method: "GET", path: "/verify" }],
  auth: "none",
  rateLimit: "verify",
  audit: { action: "verify_email" },
  errors: ["invalid_or_expired_token", "conflict"],
  secrets: [...REDIS_SECRETS, "EncryptionKey", "MongoUrl", "QstashToken"],
  ...TOKEN_FUNCTION,
});
