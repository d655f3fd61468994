import { defineEndpoint, PASSWORD_FUNCTION } from "../shared/http/endpoint";

/** Registration: `POST /{kind}/create`. */
export const spec = defineEndpoint({
  name: "create",
  routes: [{ method: "POST", path: "/create" }],
  auth: "none",
  rateLimit: "create",
  audit: { action: "register", emailField: "email" },
  errors: ["weak_password", "password_too_long", "queue_unavailable"],
  ...PASSWORD_FUNCTION,
});
