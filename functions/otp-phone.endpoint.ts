import { REDIS_SECRETS } from "../shared/config/secrets";
import { defineEndpoint, TOKEN_FUNCTION } from "../shared/http/endpoint";

/** SMS code request: `POST /{kind}/otp_phone`. */
export const spec = defineEndpoint({
  name: "otp-phone",
  routes: [{ method: "POST", path: "/otp_phone" }],
  auth: "bearer",
  rateLimit: "otp_phone",
  audit: { action: "otp_send" },
  errors: [
    "sms_country_not_allowed",
    "sms_number_type_not_allowed",
    "otp_cooldown",
    "sms_account_daily_limit",
    "sms_number_account_daily_limit",
    "otp_daily_limit",
    "sms_budget_exhausted",
    "queue_unavailable",
  ],
  secrets: [...REDIS_SECRETS, "EmailSalt", "EncryptionKey", "JwtSecret", "MongoUrl", "QstashToken"],
  ...TOKEN_FUNCTION,
});
