import { randomBytes } from "node:crypto";

/**
 * A complete, valid test environment: fresh random secrets and test-speed Argon2 parameters
 * (the crypto tests use the real OWASP parameters). Merge `overrides` last.
 * `MONGO_URL` is empty (users and audit in SQLite) even when the shell sets it for the MongoDB
 * suites (`scripts/ferretdb.sh run -- npm test`), so a test that loads functions from
 * `process.env` behaves the same either way; a MongoDB test passes `MONGO_URL` in `overrides`.
 */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ENVIRONMENT: "test",
    MONGO_URL: "",
    JWT_SECRET: randomBytes(48).toString("base64url"),
    ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    EMAIL_SALT: randomBytes(32).toString("base64url"),
    OPS_TOKEN: randomBytes(32).toString("base64url"),
    ARGON2_MEMORY_KIB: "1024",
    ARGON2_ITERATIONS: "1",
    LOG_LEVEL: "silent",
    ...overrides,
  };
}

/**
 * `RATE_LIMITS` value that lifts every per-route limit out of the way of functional tests (the
 * rate-limit tests use the defaults). Format: `name=limit/windowSeconds`.
 */
export const GENEROUS_RATE_LIMITS = [
  "create",
  "login",
  "verify",
  "profile",
  "update",
  "logout",
  "delete",
  "forget_password",
  "reset_password",
  "otp_phone",
  "verify_otp_phone",
  "token",
  "change_password",
  "logout_all",
  "mfa",
  "mfa_verify",
  "health",
  "operations",
  "job_signature",
  "global",
]
  .map((name) => `${name}=10000/60`)
  .join(",");
