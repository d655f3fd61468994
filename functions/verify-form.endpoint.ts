import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, TOKEN_FUNCTION } from "../shared/http/endpoint";

/**
 * The emailed verification link's page: `GET /{kind}/verify?token=` (the seed's link path). It only
 * renders a confirmation button; `POST /{kind}/verify` (the `verify` function) verifies. Not audited:
 * opening the page changes nothing. Rate-limited with the `verify` policy, like the POST.
 */
export const spec = defineEndpoint({
  name: "verify-form",
  routes: [{ method: "GET", path: "/verify" }],
  auth: "none",
  rateLimit: "verify",
  errors: ["not_acceptable"],
  secrets: [...REDIS_SECRETS],
  ...TOKEN_FUNCTION,
});
