import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, TOKEN_FUNCTION } from "../shared/http/endpoint";

/** SMS code check: `GET|POST /{kind}/verify_otp_phone`. */
export const spec = defineEndpoint({
  name: "verify-otp-phone",
  routes: [
    { method: "GET", path: "/verify_otp_phone" },
    { method: "POST", path: "/verify_otp_phone" },
  ],
  auth: "bearer",
  rateLimit: "verify_otp_phone",
  audit: { action: "otp_verify" },
  errors: ["invalid_otp", "conflict"],
  secrets: [...REDIS_SECRETS, "EmailSalt", "EncryptionKey", "JwtSecret", "MongoUrl"],
  ...TOKEN_FUNCTION,
});
