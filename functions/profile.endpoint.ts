import { ALL_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, TOKEN_FUNCTION } from "../shared/http/endpoint";

/** Own profile: `GET /{kind}/`. */
export const spec = defineEndpoint({
  name: "profile",
  routes: [{ method: "GET", path: "/" }],
  perKind: true,
  auth: "bearer",
  rateLimit: "profile",
  ...TOKEN_FUNCTION,
  secrets: ALL_SECRETS,
});
