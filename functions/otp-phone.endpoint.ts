import { REDIS_SECRETS } from "../shared/config/secrets";
import { SMS_SEND_CODES } from "../shared/errors";
import { defineEndpoint, TOKEN_FUNCTION } from "../shared/http/endpoint";

/** SMS code request: `POST /{kind}/otp_phone`. */
export const spec = defineEndpoint({
  name: "otp-phone",
  routes: [{ method: "POST", path: "/otp_phone" }],
  auth: "bearer",
  rateLimit: "otp_phone",
  audit: { action: "otp_send" },
  errors: [...SMS_SEND_CODES],
  secrets: [...REDIS_SECRETS, "EmailSalt", "EncryptionKey", "JwtSecret", "MongoUrl", "QstashToken"],
  ...TOKEN_FUNCTION,
});
