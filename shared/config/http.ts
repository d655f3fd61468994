import * as z from "zod";
import { intIn, optionalMatching, optionalString, optionalUrl } from "./fields";
import { parseRateLimitOverrides, type RateLimitOverride } from "./rate-limits";
import { type Problem, type Section, settle } from "./section";

/** How the service meets the web: its public URL, port, request limits, proxies, CORS and rate limits. */
export interface HttpConfig {
  /** Public base URL of the API (no trailing slash). Links in mail are built from it, never from `Host`. */
  appUrl: string;
  /** Port of the local server. */
  port: number;
  http: {
    /** Largest request body accepted, in bytes. */
    bodyLimitBytes: number;
    /** Reverse proxies in front of the service whose `X-Forwarded-For` entries are trusted. */
    trustedProxyCount: number;
    /** Allowed CORS origins (`scheme://host[:port]`, no trailing slash), or `*` outside production. */
    corsOrigins: string[];
  };
  /** `RATE_LIMITS` overrides of the rate-limit policy table, by policy name (`global` included). */
  rateLimits: Record<string, RateLimitOverride>;
}

/** Variables of the HTTP section. */
export const httpEnv = z.object({
  APP_URL: optionalUrl,
  APP_DOMAIN: optionalMatching(/^[A-Za-z0-9.-]+(:\d+)?$/, "expected a host name, e.g. auth.example.com"),
  PORT: intIn(1, 65535, 8000),
  BODY_LIMIT_BYTES: intIn(1024, 1_048_576, 16_384),
  TRUSTED_PROXY_COUNT: intIn(0, 10, 0),
  CORS_ORIGINS: optionalString,
  RATE_LIMITS: optionalString,
});

type HttpEnv = z.output<typeof httpEnv>;

/**
 * The public base URL of the API: `APP_URL`, else `https://<APP_DOMAIN>` (plain http for a
 * localhost domain outside production), else `http://localhost:<PORT>`. No trailing slash.
 */
export function appUrlOf(
  env: Pick<HttpEnv, "APP_URL" | "APP_DOMAIN" | "PORT">,
  { production }: { production: boolean },
): string {
  if (env.APP_URL !== undefined) return env.APP_URL;
  if (!env.APP_DOMAIN) return `http://localhost:${env.PORT}`;
  const local = !production && /^(localhost|127\.0\.0\.1)(:|$)/.test(env.APP_DOMAIN);
  return `${local ? "http" : "https"}://${env.APP_DOMAIN}`;
}

/**
 * The comma-separated `CORS_ORIGINS`, trimmed and without trailing slashes. Adds to `problems` a
 * `*` in production and each entry that is not an origin (`scheme://host[:port]`).
 */
function corsOriginsOf(env: HttpEnv, production: boolean, problems: Problem[]): string[] {
  const listed = (env.CORS_ORIGINS ?? "").split(",").map((o) => o.trim());
  if (production && listed.includes("*"))
    problems.push({
      variable: "CORS_ORIGINS",
      message: "`*` is refused in production: list the allowed origins",
    });
  const origins = listed.map((o) => o.replace(/\/+$/, "")).filter((o) => o !== "");
  for (const origin of origins) {
    if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin))
      problems.push({ variable: "CORS_ORIGINS", message: `not an origin: ${origin}` });
  }
  return origins;
}

/**
 * Derives the public URL (https required in production), parses the CORS origins (`*` refused in
 * production) and the `RATE_LIMITS` overrides (see `parseRateLimitOverrides`).
 */
export function parseHttp(env: HttpEnv, { production }: { production: boolean }): Section<HttpConfig> {
  const problems: Problem[] = [];
  const appUrl = appUrlOf(env, { production });
  if (production && !appUrl.startsWith("https://"))
    problems.push({ variable: "APP_URL", message: "must be an https URL in production" });
  const corsOrigins = corsOriginsOf(env, production, problems);
  const rateLimits = parseRateLimitOverrides(env.RATE_LIMITS);
  if (!rateLimits.ok) problems.push({ variable: "RATE_LIMITS", message: rateLimits.problem });
  return settle(problems, () => ({
    appUrl,
    port: env.PORT,
    http: {
      bodyLimitBytes: env.BODY_LIMIT_BYTES,
      trustedProxyCount: env.TRUSTED_PROXY_COUNT,
      corsOrigins,
    },
    rateLimits: rateLimits.ok ? rateLimits.overrides : {},
  }));
}
