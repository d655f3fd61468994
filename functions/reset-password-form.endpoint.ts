import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, TOKEN_FUNCTION } from "../shared/http/endpoint";

/** The emailed reset link's page: `GET /{kind}/reset_password_form?token=`. Rate-limited with the
 * `verify` policy, the other "opened an emailed link" route, so a mistyped password can be retried
 * without exhausting the tight `reset_password` budget. */
export const spec = defineEndpoint({
  name: "reset-password-form",
  routes: [{ method: "GET", path: "/reset_password_form" }],
  auth: "none",
  rateLimit: "verify",
  secrets: [...REDIS_SECRETS],
  ...TOKEN_FUNCTION,
});
