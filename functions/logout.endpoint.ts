import { ALL_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, TOKEN_FUNCTION } from "../shared/http/endpoint";

/** Log out one session: `GET|POST /{kind}/logout`. */
export const spec = defineEndpoint({
  name: "logout",
  routes: [
    { method: "GET", path: "/logout" },
    { method: "POST", path: "/logout" },
  ],
  perKind: true,
  auth: "bearer",
  rateLimit: "logout",
  audit: { action: "logout" },
  ...TOKEN_FUNCTION,
  secrets: ALL_SECRETS,
});
