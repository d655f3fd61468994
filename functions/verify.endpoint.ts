import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, TOKEN_FUNCTION } from "../shared/http/endpoint";

/**
 * Email verification: `POST /{kind}/verify` with the link's token (the confirmation page's form, or
 * JSON from an API client). The link itself (`GET`) is the `verify-form` function's page.
 */
export const spec = defineEndpoint({
  name: "verify",
  routes: [{ method: "POST", path: "/verify" }],
  auth: "none",
  rateLimit: "verify",
  audit: { action: "verify_email" },
  errors: ["invalid_or_expired_token", "cross_site_request", "conflict"],
  secrets: [...REDIS_SECRETS, "EncryptionKey", "MongoUrl", "QstashToken"],
  ...TOKEN_FUNCTION,
});
