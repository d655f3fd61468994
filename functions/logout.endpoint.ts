import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, TOKEN_FUNCTION } from "../shared/http/endpoint";

/** Log out one session: `GET|POST /{kind}/logout`. */
export const spec = defineEndpoint({
  name: "logout",
  routes: [
    { method: "GET", path: "/logout" },
    { method: "POST", path: "/logout" },
  ],
  auth: "bearer",
  rateLimit: "logout",
  audit: { action: "logout" },
  secrets: [...REDIS_SECRETS, "EncryptionKey", "JwtSecret", "MongoUrl"],
  ...TOKEN_FUNCTION,
});
