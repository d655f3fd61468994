import * as z from "zod";
import { intIn } from "./fields";
import { type Section, settle } from "./section";

/** Lifetimes of the one-time tokens and refresh tokens, and the limits on SMS one-time codes. */
export interface TokensConfig {
  tokens: {
    verifyEmailTtlSeconds: number;
    passwordResetTtlSeconds: number;
    refreshTtlSeconds: number;
    /** Seconds after a rotation during which a concurrent retry with the same refresh token gets the same successor. */
    refreshReuseGraceSeconds: number;
    /**
     * Absolute lifetime of a session (a refresh-token family) from its login, seconds: no rotation
     * extends it (OWASP Session Management Cheat Sheet, "absolute timeout"; NIST SP 800-63B §7.2).
     */
    sessionMaxLifetimeSeconds: number;
  };
  /** SMS one-time codes: minimum seconds between two sends to a user, and sends per phone per day. */
  otp: { resendCooldownSeconds: number; dailyLimitPerPhone: number };
}

/** Variables of the tokens section. */
export const tokensEnv = z.object({
  VERIFY_EMAIL_TTL_SECONDS: intIn(300, 7 * 86_400, 86_400),
  // Below 300 s only outside production (tests of link expiry); production refuses it below.
  PASSWORD_RESET_TTL_SECONDS: intIn(1, 86_400, 1800),
  REFRESH_TOKEN_TTL_SECONDS: intIn(3600, 365 * 86_400, 30 * 86_400),
  REFRESH_REUSE_GRACE_SECONDS: intIn(0, 120, 10),
  SESSION_MAX_LIFETIME_SECONDS: intIn(3600, 365 * 86_400, 30 * 86_400),
  OTP_RESEND_COOLDOWN_SECONDS: intIn(1, 3600, 60),
  OTP_DAILY_LIMIT: intIn(1, 1000, 10),
});

/** Maps the token variables; production refuses a password-reset link valid for under 300 seconds. */
export function parseTokens(
  env: z.output<typeof tokensEnv>,
  { production }: { production: boolean },
): Section<TokensConfig> {
  const tooShort = production && env.PASSWORD_RESET_TTL_SECONDS < 300;
  const problems = tooShort
    ? [{ variable: "PASSWORD_RESET_TTL_SECONDS", message: "must be at least 300 in production" }]
    : [];
  return settle(problems, () => ({
    tokens: {
      verifyEmailTtlSeconds: env.VERIFY_EMAIL_TTL_SECONDS,
      passwordResetTtlSeconds: env.PASSWORD_RESET_TTL_SECONDS,
      refreshTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
      refreshReuseGraceSeconds: env.REFRESH_REUSE_GRACE_SECONDS,
      sessionMaxLifetimeSeconds: env.SESSION_MAX_LIFETIME_SECONDS,
    },
    otp: {
      resendCooldownSeconds: env.OTP_RESEND_COOLDOWN_SECONDS,
      dailyLimitPerPhone: env.OTP_DAILY_LIMIT,
    },
  }));
}
