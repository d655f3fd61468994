import { z } from "zod";
import { ConfigError } from "../errors";
import { intIn, optionalString, optionalUrl } from "./fields";
import { parseRateLimitOverrides, type RateLimitOverride } from "./rate-limits";
import { parseUserKinds } from "./user-kinds";
import { isWeakSecret, utf8Length } from "./weak-secrets";

/**
 * The service configuration, parsed from the environment by {@link parseConfig}. Units are in the
 * names (`Seconds`, `Bytes`, `KiB`). Secrets are kept as given; decoding into keys happens here so
 * a malformed key fails at cold start, not at the first request.
 */
export interface Config {
  environment: "development" | "test" | "staging" | "production";
  appName: string;
  /** Public base URL of the API (no trailing slash). Links in mail are built from it, never from `Host`. */
  appUrl: string;
  port: number;
  userKinds: string[];
  jwt: {
    algorithm: "HS256" | "EdDSA" | "ES256";
    /** HS256 shared secret (UTF-8 string, ≥32 bytes). */
    secret: string | undefined;
    /** EdDSA/ES256 private key as a JWK object (must carry `kid`). */
    privateJwk: Record<string, unknown> | undefined;
    issuer: string;
    accessTokenTtlSeconds: number;
    clockToleranceSeconds: number;
  };
  /** Key ring for AES-256-GCM envelope encryption: 32-byte keys by id, one active for writes. */
  encryption: { keys: { id: string; key: Uint8Array }[]; activeKeyId: string };
  /** HMAC key of the email blind index (UTF-8 bytes of `BLIND_INDEX_KEY` or `EMAIL_SALT`). */
  blindIndexKey: Uint8Array;
  password: {
    backend: "auto" | "native" | "wasm";
    memoryKiB: number;
    iterations: number;
    parallelism: number;
    /** Passwords longer than this many UTF-8 bytes are refused before hashing. */
    maxBytes: number;
    /** Minimum length in characters (NIST SP 800-63B: ≥ 8). */
    minLength: number;
    /** Minimum zxcvbn score 0–4. */
    minScore: number;
  };
  redis: {
    /** Upstash REST endpoint; absent locally until the dev runtime starts its bridge. */
    restUrl: string | undefined;
    restToken: string | undefined;
    /** A plain Redis URL (`REDIS_URL`, or built from the seed's `REDIS_HOST`/`REDIS_PORT`) for the local bridge. */
    url: string | undefined;
    /** Per-request timeout for Redis calls, milliseconds. */
    timeoutMs: number;
  };
  store: { mongoUrl: string | undefined; mongoDb: string; sqlitePath: string };
  mail: {
    from: string;
    fromName: string;
    resendApiKey: string | undefined;
    resendBaseUrl: string | undefined;
  };
  sms: {
    twilioSid: string | undefined;
    twilioAuthToken: string | undefined;
    twilioNumber: string | undefined;
    twilioBaseUrl: string | undefined;
  };
  qstash: {
    url: string | undefined;
    token: string | undefined;
    currentSigningKey: string | undefined;
    nextSigningKey: string | undefined;
  };
  http: { bodyLimitBytes: number; trustedProxyCount: number; corsOrigins: string[] };
  tokens: {
    verifyEmailTtlSeconds: number;
    passwordResetTtlSeconds: number;
    refreshTtlSeconds: number;
    refreshReuseGraceSeconds: number;
  };
  /** SMS one-time codes: minimum seconds between two sends to a user, and sends per phone per day. */
  otp: { resendCooldownSeconds: number; dailyLimitPerPhone: number };
  bloom: { capacity: number; falsePositiveRate: number };
  /** `RATE_LIMITS` overrides of the rate-limit policy table, by policy name (`global` included). */
  rateLimits: Record<string, RateLimitOverride>;
  /** Bearer token for operator endpoints (`/health/detailed`, `/metrics`). */
  opsToken: string | undefined;
  /** Audit events are kept this many days (SQLite: purged on write; MongoDB: TTL index). */
  audit: { retentionDays: number };
  /** Build identifier reported by `/health/detailed` (e.g. the git commit), if the deploy sets one. */
  buildSha: string | undefined;
  dataDir: string;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
}

/** Decodes standard or URL-safe base64 (padding optional); `null` when malformed. */
export function decodeBase64(value: string): Uint8Array | null {
  const s = value.trim().replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
  try {
    const bin = atob(s.padEnd(Math.ceil(s.length / 4) * 4, "="));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

const envSchema = z.object({
  ENVIRONMENT: z.enum(["development", "test", "staging", "production"]).default("development"),
  APP_NAME: z.string().trim().min(1).max(100).default("Auth Service"),
  APP_URL: optionalUrl,
  APP_DOMAIN: z
    .string()
    .trim()
    .optional()
    .refine(
      (v) => v === undefined || v === "" || /^[A-Za-z0-9.-]+(:\d+)?$/.test(v),
      "expected a host name, e.g. auth.example.com",
    ),
  PORT: intIn(1, 65535, 8000),
  USER_KINDS: z.string().optional(),
  JWT_SECRET: optionalString,
  JWT_ALGORITHM: z.enum(["HS256", "EdDSA", "ES256"]).default("HS256"),
  JWT_PRIVATE_JWK: optionalString,
  JWT_ISSUER: optionalString,
  ACCESS_TOKEN_TTL_SECONDS: intIn(60, 86_400, 1800),
  JWT_CLOCK_TOLERANCE_SECONDS: intIn(1, 300, 5),
  ENCRYPTION_KEY: optionalString,
  ENCRYPTION_KEYS: optionalString,
  ENCRYPTION_ACTIVE_KEY_ID: optionalString,
  EMAIL_SALT: optionalString,
  BLIND_INDEX_KEY: optionalString,
  PASSWORD_HASHER: z.enum(["auto", "native", "wasm"]).default("auto"),
  ARGON2_MEMORY_KIB: intIn(1024, 4_194_304, 19_456),
  ARGON2_ITERATIONS: intIn(1, 100, 2),
  ARGON2_PARALLELISM: intIn(1, 16, 1),
  PASSWORD_MAX_BYTES: intIn(64, 4096, 256),
  PASSWORD_MIN_LENGTH: intIn(8, 128, 8),
  PASSWORD_MIN_SCORE: intIn(0, 4, 3),
  UPSTASH_REDIS_REST_URL: optionalUrl,
  UPSTASH_REDIS_REST_TOKEN: optionalString,
  REDIS_URL: z
    .string()
    .trim()
    .optional()
    .refine((v) => v === undefined || v === "" || /^rediss?:\/\/\S+$/.test(v), "expected redis://host:port"),
  REDIS_HOST: optionalString,
  REDIS_PORT: intIn(1, 65535, 6379),
  REDIS_TIMEOUT_MS: intIn(50, 30_000, 2000),
  MONGO_URL: z
    .string()
    .trim()
    .optional()
    .refine(
      (v) => v === undefined || v === "" || /^mongodb(\+srv)?:\/\/\S+$/.test(v),
      "expected a mongodb:// or mongodb+srv:// URL",
    ),
  MONGO_DB: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, "expected a database name")
    .default("auth"),
  DATA_DIR: z.string().trim().min(1).default(".data"),
  SQLITE_PATH: optionalString,
  MAIL_FROM: z.string().trim().email("expected an email address").default("no-reply@localhost.test"),
  MAIL_FROM_NAME: z.string().trim().min(1).max(100).optional(),
  RESEND_API_KEY: optionalString,
  RESEND_BASE_URL: optionalUrl,
  TWILIO_SID: optionalString,
  TWILIO_AUTH_TOKEN: optionalString,
  TWILIO_NUMBER: z
    .string()
    .trim()
    .optional()
    .refine(
      (v) => v === undefined || v === "" || /^\+[1-9]\d{6,14}$/.test(v),
      "expected an E.164 number, e.g. +15551234567",
    ),
  TWILIO_BASE_URL: optionalUrl,
  QSTASH_URL: optionalUrl,
  QSTASH_TOKEN: optionalString,
  QSTASH_CURRENT_SIGNING_KEY: optionalString,
  QSTASH_NEXT_SIGNING_KEY: optionalString,
  BODY_LIMIT_BYTES: intIn(1024, 1_048_576, 16_384),
  TRUSTED_PROXY_COUNT: intIn(0, 10, 0),
  CORS_ORIGINS: optionalString,
  VERIFY_EMAIL_TTL_SECONDS: intIn(300, 7 * 86_400, 86_400),
  // Below 300 s only outside production (tests of link expiry); production refuses it below.
  PASSWORD_RESET_TTL_SECONDS: intIn(1, 86_400, 1800),
  REFRESH_TOKEN_TTL_SECONDS: intIn(3600, 365 * 86_400, 30 * 86_400),
  REFRESH_REUSE_GRACE_SECONDS: intIn(0, 120, 10),
  OTP_RESEND_COOLDOWN_SECONDS: intIn(1, 3600, 60),
  OTP_DAILY_LIMIT: intIn(1, 1000, 10),
  BLOOM_CAPACITY: intIn(1000, 1_000_000_000, 1_000_000),
  BLOOM_FALSE_POSITIVE_RATE: z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return 0.01;
      const n = Number(v);
      if (!(n > 0 && n < 0.5)) {
        ctx.addIssue({ code: "custom", message: "expected a number between 0 and 0.5, e.g. 0.01" });
        return z.NEVER;
      }
      return n;
    }),
  OPS_TOKEN: optionalString,
  AUDIT_RETENTION_DAYS: intIn(1, 3650, 90),
  BUILD_SHA: z
    .string()
    .trim()
    .optional()
    .refine((v) => v === undefined || /^[A-Za-z0-9._-]{0,64}$/.test(v), "expected a commit id or build tag")
    .transform((v) => (v === "" ? undefined : v)),
  RATE_LIMITS: optionalString,
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
});

type Env = z.output<typeof envSchema>;

/** Names of every environment variable the configuration reads (documented in `.env.example`). */
export const ENV_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/** Parses `ENCRYPTION_KEYS` (`k1:<base64>,k2:<base64>`) or `ENCRYPTION_KEY` (one key, id `k1`). */
function parseKeyRing(
  env: Env,
  problem: (name: string, msg: string) => void,
): Config["encryption"] | undefined {
  const entries: { id: string; key: Uint8Array }[] = [];
  if (env.ENCRYPTION_KEYS !== undefined) {
    for (const part of env.ENCRYPTION_KEYS.split(",")) {
      const [id, value, ...rest] = part.trim().split(":");
      const key = value === undefined ? null : decodeBase64(value);
      if (id === undefined || !/^[A-Za-z0-9_-]{1,16}$/.test(id) || rest.length > 0 || key?.length !== 32) {
        problem(
          "ENCRYPTION_KEYS",
          "expected comma-separated `id:<base64 of 32 bytes>` entries, e.g. k1:AbC…,k2:XyZ…",
        );
        return undefined;
      }
      if (entries.some((e) => e.id === id)) {
        problem("ENCRYPTION_KEYS", `duplicate key id ${id}`);
        return undefined;
      }
      entries.push({ id, key });
    }
  } else if (env.ENCRYPTION_KEY !== undefined) {
    const key = decodeBase64(env.ENCRYPTION_KEY);
    if (key?.length !== 32) {
      problem(
        "ENCRYPTION_KEY",
        "expected 32 random bytes in base64 or base64url (e.g. `openssl rand -base64 32`)",
      );
      return undefined;
    }
    entries.push({ id: "k1", key });
  } else {
    problem("ENCRYPTION_KEY", "required: 32 random bytes in base64 (or set ENCRYPTION_KEYS for a key ring)");
    return undefined;
  }
  const activeKeyId = env.ENCRYPTION_ACTIVE_KEY_ID ?? entries[entries.length - 1]?.id ?? "k1";
  if (!entries.some((e) => e.id === activeKeyId)) {
    problem(
      "ENCRYPTION_ACTIVE_KEY_ID",
      `must name one of the configured key ids (${entries.map((e) => e.id).join(", ")})`,
    );
    return undefined;
  }
  return { keys: entries, activeKeyId };
}

/**
 * Parses and validates the environment into a {@link Config}. Pure: pass any `Record<string, string | undefined>`.
 *
 * Rules: `JWT_SECRET` (HS256, ≥32 bytes) or `JWT_PRIVATE_JWK` (EdDSA/ES256), `ENCRYPTION_KEY(S)`, and
 * `EMAIL_SALT`/`BLIND_INDEX_KEY` (≥16 bytes, never equal to an encryption key) are required in every
 * environment (the local runtime generates development values). With `ENVIRONMENT=production`,
 * weak or placeholder secrets are refused, `APP_URL` (or `APP_DOMAIN`) must be https, and the cloud
 * services (Upstash Redis, MongoDB, QStash, Resend, Twilio) must be configured.
 *
 * @throws ConfigError whose message names every offending variable and what it expects.
 */
export function parseConfig(source: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const malformed = new Set<string>();
  const problem = (name: string, msg: string) => {
    if (!malformed.has(name)) problems.push(`${name}: ${msg}`);
  };
  let parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? "environment");
      problem(name, issue.message);
      malformed.add(name);
    }
    // Check the rest too, so one error names every offending variable, not just the malformed ones.
    parsed = envSchema.safeParse(
      Object.fromEntries(Object.entries(source).filter(([k]) => !malformed.has(k))),
    );
    if (!parsed.success) throw new ConfigError(problems);
  }
  const env = parsed.data;
  const production = env.ENVIRONMENT === "production";

  const kinds = parseUserKinds(env.USER_KINDS);
  if (!kinds.ok) problem("USER_KINDS", kinds.problem);

  const appUrl =
    env.APP_URL ??
    (env.APP_DOMAIN
      ? `${production || !/^(localhost|127\.0\.0\.1)(:|$)/.test(env.APP_DOMAIN) ? "https" : "http"}://${env.APP_DOMAIN}`
      : `http://localhost:${env.PORT}`);
  if (production && !appUrl.startsWith("https://")) problem("APP_URL", "must be an https URL in production");

  let privateJwk: Record<string, unknown> | undefined;
  if (env.JWT_ALGORITHM === "HS256") {
    if (env.JWT_SECRET === undefined)
      problem("JWT_SECRET", "required for HS256: a random string of at least 32 bytes");
    else if (utf8Length(env.JWT_SECRET) < 32) problem("JWT_SECRET", "too short: at least 32 bytes");
    else if (production && isWeakSecret(env.JWT_SECRET, 32))
      problem("JWT_SECRET", "weak or placeholder secret refused in production: use 32+ random bytes");
  } else {
    try {
      const jwk: unknown = env.JWT_PRIVATE_JWK === undefined ? undefined : JSON.parse(env.JWT_PRIVATE_JWK);
      if (typeof jwk !== "object" || jwk === null || !("d" in jwk) || !("kid" in jwk))
        throw new Error("shape");
      privateJwk = jwk as Record<string, unknown>;
    } catch {
      problem(
        "JWT_PRIVATE_JWK",
        `required for ${env.JWT_ALGORITHM}: a private JWK (JSON with "d" and "kid")`,
      );
    }
  }

  const encryption = parseKeyRing(env, problem);
  const blindRaw = env.BLIND_INDEX_KEY ?? env.EMAIL_SALT;
  const blindName = env.BLIND_INDEX_KEY !== undefined ? "BLIND_INDEX_KEY" : "EMAIL_SALT";
  if (blindRaw === undefined)
    problem("EMAIL_SALT", "required: the blind-index HMAC key, at least 16 random bytes");
  else if (utf8Length(blindRaw) < 16) problem(blindName, "too short: at least 16 bytes");
  else if (
    [env.ENCRYPTION_KEY, ...(env.ENCRYPTION_KEYS?.split(",").map((p) => p.split(":")[1]) ?? [])].includes(
      blindRaw,
    )
  )
    problem(blindName, "must differ from every encryption key");
  else if (production && isWeakSecret(blindRaw, 32))
    problem(blindName, "weak or placeholder secret refused in production: use 32+ random bytes");

  if (production) {
    const need = (name: keyof Env, why: string) => {
      if (env[name] === undefined) problem(name, `required in production (${why})`);
    };
    need("UPSTASH_REDIS_REST_URL", "Upstash Redis");
    need("UPSTASH_REDIS_REST_TOKEN", "Upstash Redis");
    need("MONGO_URL", "user store");
    need("QSTASH_TOKEN", "background delivery");
    need("QSTASH_CURRENT_SIGNING_KEY", "QStash signature verification");
    need("QSTASH_NEXT_SIGNING_KEY", "QStash signature verification");
    need("RESEND_API_KEY", "email");
    need("TWILIO_SID", "SMS");
    need("TWILIO_AUTH_TOKEN", "SMS");
    need("TWILIO_NUMBER", "SMS sender");
    if (env.PASSWORD_RESET_TTL_SECONDS < 300)
      problem("PASSWORD_RESET_TTL_SECONDS", "must be at least 300 in production");
    if (env.OPS_TOKEN !== undefined && isWeakSecret(env.OPS_TOKEN, 32))
      problem("OPS_TOKEN", "weak operator token refused in production: use 32+ random bytes");
    if (env.CORS_ORIGINS?.split(",").some((o) => o.trim() === "*"))
      problem("CORS_ORIGINS", "`*` is refused in production: list the allowed origins");
  }

  const corsOrigins = (env.CORS_ORIGINS ?? "")
    .split(",")
    .map((o) => o.trim().replace(/\/+$/, ""))
    .filter((o) => o !== "");
  for (const origin of corsOrigins) {
    if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin))
      problem("CORS_ORIGINS", `not an origin: ${origin}`);
  }

  const rateLimits = parseRateLimitOverrides(env.RATE_LIMITS);
  if (!rateLimits.ok) problem("RATE_LIMITS", rateLimits.problem);

  if (problems.length > 0 || !kinds.ok || encryption === undefined || blindRaw === undefined) {
    throw new ConfigError(problems);
  }

  const redisUrl =
    env.REDIS_URL || (env.REDIS_HOST ? `redis://${env.REDIS_HOST}:${env.REDIS_PORT}` : undefined);
  return {
    environment: env.ENVIRONMENT,
    appName: env.APP_NAME,
    appUrl,
    port: env.PORT,
    userKinds: kinds.kinds,
    jwt: {
      algorithm: env.JWT_ALGORITHM,
      secret: env.JWT_SECRET,
      privateJwk,
      issuer: env.JWT_ISSUER ?? appUrl,
      accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
      clockToleranceSeconds: env.JWT_CLOCK_TOLERANCE_SECONDS,
    },
    encryption,
    blindIndexKey: new TextEncoder().encode(blindRaw),
    password: {
      backend: env.PASSWORD_HASHER,
      memoryKiB: env.ARGON2_MEMORY_KIB,
      iterations: env.ARGON2_ITERATIONS,
      parallelism: env.ARGON2_PARALLELISM,
      maxBytes: env.PASSWORD_MAX_BYTES,
      minLength: env.PASSWORD_MIN_LENGTH,
      minScore: env.PASSWORD_MIN_SCORE,
    },
    redis: {
      restUrl: env.UPSTASH_REDIS_REST_URL,
      restToken: env.UPSTASH_REDIS_REST_TOKEN,
      url: redisUrl,
      timeoutMs: env.REDIS_TIMEOUT_MS,
    },
    store: {
      mongoUrl: env.MONGO_URL || undefined,
      mongoDb: env.MONGO_DB,
      sqlitePath: env.SQLITE_PATH ?? `${env.DATA_DIR}/users.sqlite`,
    },
    mail: {
      from: env.MAIL_FROM,
      fromName: env.MAIL_FROM_NAME ?? env.APP_NAME,
      resendApiKey: env.RESEND_API_KEY,
      resendBaseUrl: env.RESEND_BASE_URL,
    },
    sms: {
      twilioSid: env.TWILIO_SID,
      twilioAuthToken: env.TWILIO_AUTH_TOKEN,
      twilioNumber: env.TWILIO_NUMBER || undefined,
      twilioBaseUrl: env.TWILIO_BASE_URL,
    },
    qstash: {
      url: env.QSTASH_URL,
      token: env.QSTASH_TOKEN,
      currentSigningKey: env.QSTASH_CURRENT_SIGNING_KEY,
      nextSigningKey: env.QSTASH_NEXT_SIGNING_KEY,
    },
    http: {
      bodyLimitBytes: env.BODY_LIMIT_BYTES,
      trustedProxyCount: env.TRUSTED_PROXY_COUNT,
      corsOrigins,
    },
    tokens: {
      verifyEmailTtlSeconds: env.VERIFY_EMAIL_TTL_SECONDS,
      passwordResetTtlSeconds: env.PASSWORD_RESET_TTL_SECONDS,
      refreshTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
      refreshReuseGraceSeconds: env.REFRESH_REUSE_GRACE_SECONDS,
    },
    otp: {
      resendCooldownSeconds: env.OTP_RESEND_COOLDOWN_SECONDS,
      dailyLimitPerPhone: env.OTP_DAILY_LIMIT,
    },
    bloom: { capacity: env.BLOOM_CAPACITY, falsePositiveRate: env.BLOOM_FALSE_POSITIVE_RATE },
    rateLimits: rateLimits.ok ? rateLimits.overrides : {},
    opsToken: env.OPS_TOKEN,
    audit: { retentionDays: env.AUDIT_RETENTION_DAYS },
    buildSha: env.BUILD_SHA,
    dataDir: env.DATA_DIR,
    logLevel: env.LOG_LEVEL,
  };
}

let cached: Config | undefined;

/**
 * The configuration of this process, parsed from `process.env` once per cold start and memoised.
 * @throws ConfigError on the first call if the environment is invalid (and on every later call).
 */
export function getConfig(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}

/** Forgets the memoised configuration (the local runtime and tests change the environment). */
export function resetConfig(): void {
  cached = undefined;
}
