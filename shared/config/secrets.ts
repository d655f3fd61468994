/**
 * The secrets a function may need. Each is an `sst.Secret` in production, handed to the function
 * as the environment variable of the same meaning (the names `shared/config` reads). An endpoint
 * spec lists the ones its function reads (least privilege: DESIGN.md §2).
 */
export const SECRET_ENV = {
  JwtSecret: "JWT_SECRET",
  EncryptionKey: "ENCRYPTION_KEY",
  EmailSalt: "EMAIL_SALT",
  UpstashRedisRestUrl: "UPSTASH_REDIS_REST_URL",
  UpstashRedisRestToken: "UPSTASH_REDIS_REST_TOKEN",
  MongoUrl: "MONGO_URL",
  QstashToken: "QSTASH_TOKEN",
  QstashCurrentSigningKey: "QSTASH_CURRENT_SIGNING_KEY",
  QstashNextSigningKey: "QSTASH_NEXT_SIGNING_KEY",
  ResendApiKey: "RESEND_API_KEY",
  TwilioSid: "TWILIO_SID",
  TwilioAuthToken: "TWILIO_AUTH_TOKEN",
  OpsToken: "OPS_TOKEN",
} as const;

/** Name of an `sst.Secret`, e.g. `JwtSecret`. */
export type SecretName = keyof typeof SECRET_ENV;

/** Every secret (`sst.config.ts` declares each one; a function is linked only to its spec's). */
export const ALL_SECRETS = Object.keys(SECRET_ENV) as SecretName[];

/** Upstash Redis REST: every function that rate-limits, caches or counts (metrics flush there). */
export const REDIS_SECRETS = ["UpstashRedisRestUrl", "UpstashRedisRestToken"] as const satisfies SecretName[];

/** The keys that verify `Upstash-Signature` on QStash's deliveries (current and next, for rotation). */
export const QSTASH_SIGNING_SECRETS = [
  "QstashCurrentSigningKey",
  "QstashNextSigningKey",
] as const satisfies SecretName[];
