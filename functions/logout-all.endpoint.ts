import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, TOKEN_FUNCTION } from "../shared/http/endpoint";

/** Log out everywhere: `POST /{kind}/logout_all`. */
export const spec = defineEndpoint({
  name: "logout-all",
  routes: [{ method: "POST", path: "/logout_all" }],
  auth: "bearer",
  rateLimit: "logout_all",
  audit: { action: "logout_all" },
  secrets: [...REDIS_SECRETS, "EncryptionKey", "JwtSecret", "MongoUrl"],
  ...TOKEN_FUNCTION,
});
