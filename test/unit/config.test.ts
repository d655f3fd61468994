import { describe, expect, it } from "vitest";
import { parseConfig } from "../../shared/config/schema";
import { ConfigError } from "../../shared/errors";

const b64 = (n: number, fill = 7) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + fill) % 256)).toString("base64");
const VALID = {
  JWT_SECRET: "k3Jd9sL2mQ8vX1zR7tY4uW6pN0aB5cE!",
  ENCRYPTION_KEY: b64(32),
  EMAIL_SALT: "p0Q9w8E7r6T5y4U3i2O1-blind-index",
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    parseConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("configuration", () => {
  it("parses a minimal development environment with the documented defaults", () => {
    const config = parseConfig(VALID);
    expect(config.environment).toBe("development");
    expect(config.userKinds).toEqual(["User1", "User2"]);
    expect(config.jwt).toMatchObject({ algorithm: "HS256", accessTokenTtlSeconds: 1800 });
    expect(config.password).toMatchObject({
      memoryKiB: 19456,
      iterations: 2,
      parallelism: 1,
      backend: "auto",
    });
    expect(config.encryption.activeKeyId).toBe("k1");
    expect(config.encryption.keys[0]?.key).toHaveLength(32);
    expect(config.appUrl).toBe("http://localhost:8000");
    expect(config.store.sqlitePath).toBe(".data/users.sqlite");
  });

  it("accepts the seed's variable names (REDIS_HOST/PORT, APP_DOMAIN, MAIL_FROM_NAME, base64url keys)", () => {
    const config = parseConfig({
      ...VALID,
      ENCRYPTION_KEY: Buffer.from(b64(32), "base64").toString("base64url"),
      REDIS_HOST: "cache.internal",
      REDIS_PORT: "6380",
      APP_DOMAIN: "auth.example.com",
      MAIL_FROM: "auth@example.com",
      MAIL_FROM_NAME: "Example Auth",
      USER_KINDS: "Customer, Staff",
    });
    expect(config.redis.url).toBe("redis://cache.internal:6380");
    expect(config.appUrl).toBe("https://auth.example.com");
    expect(config.mail).toMatchObject({ from: "auth@example.com", fromName: "Example Auth" });
    expect(config.userKinds).toEqual(["Customer", "Staff"]);
  });

  it("names every missing required variable in one error", () => {
    const problems = problemsOf({});
    expect(problems.map((p) => p.split(":")[0])).toEqual(
      expect.arrayContaining(["JWT_SECRET", "ENCRYPTION_KEY", "EMAIL_SALT"]),
    );
    expect(problems.join("\n")).toMatch(/JWT_SECRET: required/);
  });

  it.each([
    ["JWT_SECRET", "short", /at least 32 bytes/],
    ["ENCRYPTION_KEY", b64(16), /32 random bytes/],
    ["ENCRYPTION_KEY", "not base64 !!", /32 random bytes/],
    ["EMAIL_SALT", "tiny", /at least 16 bytes/],
    ["JWT_ALGORITHM", "none", /expected one of/i],
    ["PORT", "70000", /integer from 1 to 65535/],
    ["ARGON2_MEMORY_KIB", "12", /integer from 1024/],
    ["USER_KINDS", "User1,../etc", /bad: "..\/etc"/],
    ["USER_KINDS", "User1,user1", /duplicate/],
    ["USER_KINDS", "health", /reserved/],
    ["MONGO_URL", "http://db", /mongodb:\/\//],
    ["TWILIO_NUMBER", "555-1234", /E\.164/],
    ["APP_URL", "ftp://x", /http\(s\) URL/],
    ["MAIL_FROM", "nobody", /email address/],
    ["ENCRYPTION_ACTIVE_KEY_ID", "k9", /must name one of/],
    ["CORS_ORIGINS", "https://a.example/path", /not an origin/],
    ["RATE_LIMITS", "login=ten/60", /expected name=limit\/windowSeconds/],
    ["RATE_LIMITS", "signin=5/60", /unknown policy "signin"/],
    ["RATE_LIMITS", "login=0/60", /limit must be from 1/],
  ])("rejects a malformed %s, naming it and what it expects", (name, value, expected) => {
    const problems = problemsOf({ ...VALID, [name]: value });
    const mine = problems.filter((p) => p.startsWith(`${name}:`));
    expect(mine.length, problems.join("\n")).toBeGreaterThan(0);
    expect(mine.join("\n")).toMatch(expected);
  });

  it("reports several bad variables together", () => {
    const problems = problemsOf({ ...VALID, PORT: "x", LOG_LEVEL: "loud", JWT_SECRET: "short" });
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual(["JWT_SECRET", "LOG_LEVEL", "PORT"]);
  });

  it("reads the password-guessing lockout: low per (account, address), much higher per account", () => {
    expect(parseConfig(VALID).loginLock).toEqual({
      perAddress: 5,
      perAccount: 100,
      windowSeconds: 900,
      baseDelaySeconds: 30,
      maxDelaySeconds: 900,
    });
    expect(
      parseConfig({ ...VALID, LOGIN_LOCK_PER_ADDRESS: "3", LOGIN_LOCK_PER_ACCOUNT: "20" }).loginLock,
    ).toMatchObject({ perAddress: 3, perAccount: 20 });
    const problems = problemsOf({
      ...VALID,
      LOGIN_LOCK_PER_ADDRESS: "10",
      LOGIN_LOCK_PER_ACCOUNT: "5",
      LOGIN_LOCK_BASE_SECONDS: "60",
      LOGIN_LOCK_MAX_SECONDS: "30",
    });
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual([
      "LOGIN_LOCK_MAX_SECONDS",
      "LOGIN_LOCK_PER_ACCOUNT",
    ]);
  });

  it("never lets the blind-index key equal the encryption key", () => {
    expect(problemsOf({ ...VALID, EMAIL_SALT: VALID.ENCRYPTION_KEY }).join()).toMatch(
      /EMAIL_SALT: EMAIL_SALT must not share key material with encryption key k1/,
    );
  });

  // Issue #14 I2: the separation check compared strings, so these spellings of one key passed.
  describe("key separation compares the bytes each secret is used as, not the strings written", () => {
    const key = VALID.ENCRYPTION_KEY; // base64 of 32 bytes, with one `=` of padding
    const raw = Buffer.from(key, "base64");
    it.each([
      ["EMAIL_SALT = ENCRYPTION_KEY without its padding", { EMAIL_SALT: key.replace(/=+$/, "") }],
      ["EMAIL_SALT = ENCRYPTION_KEY in base64url", { EMAIL_SALT: raw.toString("base64url") }],
      ["EMAIL_SALT = ENCRYPTION_KEY with spaces around it", { EMAIL_SALT: ` ${key} ` }],
      [
        "EMAIL_SALT = a key of ENCRYPTION_KEYS written `k1: <key>`",
        { ENCRYPTION_KEY: undefined, ENCRYPTION_KEYS: `k1: ${key}`, EMAIL_SALT: key },
      ],
      ["BLIND_INDEX_KEY = ENCRYPTION_KEY", { BLIND_INDEX_KEY: key.replace(/=+$/, "") }],
    ])("refuses %s", (_label, overrides) => {
      expect(problemsOf({ ...VALID, ...overrides }).join()).toMatch(
        /(EMAIL_SALT|BLIND_INDEX_KEY): \1 must not share key material with encryption key k1/,
      );
    });

    it("refuses a JWT secret or operator token equal to the blind-index key or an encryption key", () => {
      expect(problemsOf({ ...VALID, JWT_SECRET: VALID.EMAIL_SALT }).join()).toMatch(
        /JWT_SECRET: JWT_SECRET must not share key material with EMAIL_SALT/,
      );
      expect(problemsOf({ ...VALID, JWT_SECRET: `${key}  ` }).join()).toMatch(
        /JWT_SECRET: JWT_SECRET must not share key material with encryption key k1/,
      );
      expect(problemsOf({ ...VALID, OPS_TOKEN: VALID.JWT_SECRET }).join()).toMatch(
        /OPS_TOKEN: OPS_TOKEN must not share key material with JWT_SECRET/,
      );
    });

    it("refuses two ring keys with the same bytes under different ids", () => {
      const env = {
        ...VALID,
        ENCRYPTION_KEY: undefined,
        ENCRYPTION_KEYS: `k1:${key},k2:${raw.toString("base64url")}`,
      };
      expect(problemsOf(env).join()).toMatch(
        /ENCRYPTION_KEYS: encryption key k2 must not share key material with encryption key k1/,
      );
    });

    it("accepts distinct secrets", () => {
      expect(() =>
        parseConfig({ ...VALID, OPS_TOKEN: "another-operator-token-0123456789abcdef" }),
      ).not.toThrow();
    });
  });

  describe("ring key ids are validated when the configuration is parsed (issue #14 I2)", () => {
    const key = VALID.ENCRYPTION_KEY;
    it.each([
      ["the reserved data-key id dk", `dk:${key}`, /reserved for record data keys/],
      ["an id with a dot", `k.1:${key}`, /must be 1–16 of/],
      ["a 17-character id", `${"k".repeat(17)}:${key}`, /must be 1–16 of/],
    ])("refuses %s in ENCRYPTION_KEYS", (_label, ring, message) => {
      const problems = problemsOf({ ...VALID, ENCRYPTION_KEY: undefined, ENCRYPTION_KEYS: ring });
      expect(problems.join()).toMatch(/ENCRYPTION_KEYS: key id/);
      expect(problems.join()).toMatch(message);
    });

    it("refuses a reserved active key id", () => {
      expect(problemsOf({ ...VALID, ENCRYPTION_ACTIVE_KEY_ID: "dk" }).join()).toMatch(
        /ENCRYPTION_ACTIVE_KEY_ID: key id "dk" is reserved/,
      );
    });

    it("the configured ring always builds a key ring (no request-time ConfigError)", async () => {
      const { createKeyRing } = await import("../../shared/crypto/envelope");
      const config = parseConfig({ ...VALID, ENCRYPTION_KEY: undefined, ENCRYPTION_KEYS: ` k1 : ${key} ` });
      await expect(createKeyRing(config.encryption)).resolves.toBeTruthy();
    });
  });

  it("reads a key ring with several keys and an active id", () => {
    const config = parseConfig({
      ...VALID,
      ENCRYPTION_KEY: undefined,
      ENCRYPTION_KEYS: `k1:${b64(32, 1)},k2:${b64(32, 2)}`,
    });
    expect(config.encryption.keys.map((k) => k.id)).toEqual(["k1", "k2"]);
    expect(config.encryption.activeKeyId).toBe("k2");
    const pinned = parseConfig({
      ...VALID,
      ENCRYPTION_KEYS: `k1:${b64(32, 1)},k2:${b64(32, 2)}`,
      ENCRYPTION_ACTIVE_KEY_ID: "k1",
    });
    expect(pinned.encryption.activeKeyId).toBe("k1");
  });

  it("reads RATE_LIMITS overrides by policy name, global included, and none by default", () => {
    expect(parseConfig(VALID).rateLimits).toEqual({});
    expect(parseConfig({ ...VALID, RATE_LIMITS: "login=10/60, global=200/3600" }).rateLimits).toEqual({
      login: { limit: 10, windowSeconds: 60 },
      global: { limit: 200, windowSeconds: 3600 },
    });
  });

  it("requires a private JWK for asymmetric algorithms", () => {
    expect(problemsOf({ ...VALID, JWT_ALGORITHM: "EdDSA" }).join()).toMatch(
      /JWT_PRIVATE_JWK: required for EdDSA/,
    );
  });

  describe("production", () => {
    const production = {
      ENVIRONMENT: "production",
      APP_URL: "https://auth.example.com",
      JWT_SECRET: "Zq8#vN2$kL5@wR9!tY3^mB6&xC1*pD4%",
      ENCRYPTION_KEY: b64(32),
      EMAIL_SALT: "Hf7&Jk2*Lm9#Qw4!Er6^Ty1@Ui8$Op3%",
      UPSTASH_REDIS_REST_URL: "https://eu1.upstash.io",
      UPSTASH_REDIS_REST_TOKEN: "tok",
      MONGO_URL: "mongodb+srv://cluster.example.net",
      QSTASH_TOKEN: "q",
      QSTASH_CURRENT_SIGNING_KEY: "sig_a",
      QSTASH_NEXT_SIGNING_KEY: "sig_b",
      RESEND_API_KEY: "re_x",
      TWILIO_SID: "AC1",
      TWILIO_AUTH_TOKEN: "t",
      TWILIO_NUMBER: "+15551234567",
    };

    it("accepts a complete production environment", () => {
      expect(parseConfig(production).environment).toBe("production");
    });

    it.each([
      ["JWT_SECRET", "changeme-changeme-changeme-changeme"],
      ["JWT_SECRET", "a".repeat(40)],
      ["JWT_SECRET", "your-secret-key-your-secret-key-xx"],
      ["EMAIL_SALT", "0123456789abcdef"],
      ["EMAIL_SALT", "example-salt-example-salt-example"],
    ])("refuses the weak or placeholder secret %s=%s", (name, value) => {
      expect(problemsOf({ ...production, [name]: value }).join("\n")).toMatch(
        new RegExp(`${name}: .*(weak|short)`),
      );
    });

    it("refuses plain http and missing cloud services, naming each", () => {
      const problems = problemsOf({
        ...production,
        APP_URL: "http://auth.example.com",
        MONGO_URL: undefined,
        RESEND_API_KEY: undefined,
      });
      expect(problems.join("\n")).toMatch(/APP_URL: must be an https URL/);
      expect(problems.join("\n")).toMatch(/MONGO_URL: required in production/);
      expect(problems.join("\n")).toMatch(/RESEND_API_KEY: required in production/);
    });

    it("refuses a wildcard CORS origin", () => {
      expect(problemsOf({ ...production, CORS_ORIGINS: "*" }).join()).toMatch(/CORS_ORIGINS/);
    });
  });
});

describe(".env.example", () => {
  it("documents every variable the configuration reads, and nothing else", async () => {
    const { readFileSync } = await import("node:fs");
    const { ENV_VARIABLES } = await import("../../shared/config/schema");
    const text = readFileSync(new URL("../../.env.example", import.meta.url), "utf8");
    const documented = [...text.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...ENV_VARIABLES].sort());
  });
});
