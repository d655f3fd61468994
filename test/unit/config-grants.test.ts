import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { buildManifest } from "../../infra/functions";
import { restrictConfig, SECRET_FIELDS, SecretWithheldError } from "../../shared/config/grants";
import { type Config, parseConfig } from "../../shared/config/schema";
import { ALL_SECRETS, REDIS_SECRETS, SECRET_ENV, type SecretName } from "../../shared/config/secrets";
import { ConfigError } from "../../shared/errors";
import { createContext } from "../../shared/wiring/context";
import { testEnv } from "../helpers/env";

/**
 * Least privilege for secrets (issue #12): a function's configuration holds only the secrets its
 * spec grants. Pure parsing and the composition root, no I/O.
 */
const b64 = (n: number) => randomBytes(n).toString("base64");
/** Every variable production requires, secrets included. */
const production: Record<string, string> = {
  ENVIRONMENT: "production",
  APP_URL: "https://auth.example.com",
  JWT_SECRET: randomBytes(48).toString("base64url"),
  ENCRYPTION_KEY: b64(32),
  EMAIL_SALT: randomBytes(32).toString("base64url"),
  UPSTASH_REDIS_REST_URL: "https://eu1.upstash.io",
  UPSTASH_REDIS_REST_TOKEN: randomBytes(24).toString("base64url"),
  MONGO_URL: "mongodb+srv://cluster.example.net",
  QSTASH_TOKEN: randomBytes(24).toString("base64url"),
  QSTASH_CURRENT_SIGNING_KEY: `sig_${randomBytes(16).toString("hex")}`,
  QSTASH_NEXT_SIGNING_KEY: `sig_${randomBytes(16).toString("hex")}`,
  RESEND_API_KEY: `re_${randomBytes(16).toString("hex")}`,
  TWILIO_SID: `AC${randomBytes(16).toString("hex")}`,
  TWILIO_AUTH_TOKEN: randomBytes(16).toString("hex"),
  TWILIO_NUMBER: "+15551234567",
  OPS_TOKEN: randomBytes(32).toString("base64url"),
};
/** `production` without any secret variable, and without what goes with them. */
const plainOnly = Object.fromEntries(
  Object.entries(production).filter(
    ([k]) => !(Object.values(SECRET_ENV) as string[]).includes(k) && k !== "TWILIO_NUMBER",
  ),
);
const read = (config: Config, [top, field]: readonly [string, string?]) => {
  const section = (config as unknown as Record<string, unknown>)[top];
  return field === undefined ? section : (section as Record<string, unknown>)[field];
};
const has = (config: Config, [top, field]: readonly [string, string?]) => {
  const root = config as unknown as Record<string, unknown>;
  return field === undefined ? top in root : field in (root[top] as object);
};
const withheldErrorOf = (fn: () => unknown): SecretWithheldError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof SecretWithheldError) return error;
    throw error;
  }
  throw new Error("read did not throw");
};

describe("a function's configuration holds only its granted secrets", () => {
  it("maps every secret to configuration fields that exist", () => {
    const config = parseConfig(production);
    expect(Object.keys(SECRET_FIELDS).sort()).toEqual([...ALL_SECRETS].sort());
    for (const secret of ALL_SECRETS)
      for (const path of SECRET_FIELDS[secret]) expect(has(config, path), `${secret} ${path}`).toBe(true);
  });

  it("parses a production environment that carries only the granted secrets", () => {
    const config = parseConfig(
      { ...plainOnly, OPS_TOKEN: production.OPS_TOKEN as string },
      { secrets: ["OpsToken"] },
    );
    expect(config.opsToken).toBe(production.OPS_TOKEN);
    expect(config.environment).toBe("production");
  });

  it("still requires a granted secret that is missing", () => {
    expect(() => parseConfig(plainOnly, { secrets: ["JwtSecret", "MongoUrl"] })).toThrow(ConfigError);
    try {
      parseConfig(plainOnly, { secrets: ["JwtSecret", "MongoUrl"] });
    } catch (error) {
      const problems = (error as ConfigError).problems.join("\n");
      expect(problems).toMatch(/JWT_SECRET/);
      expect(problems).toMatch(/MONGO_URL: required in production/);
      expect(problems).not.toMatch(/RESEND_API_KEY|TWILIO|ENCRYPTION_KEY|QSTASH/);
    }
  });

  it.each(ALL_SECRETS.map((s) => [s] as const))(
    "every field of %s throws SecretWithheldError when not granted, even when the environment has it",
    (secret) => {
      const granted = ALL_SECRETS.filter((s) => s !== secret);
      const config = parseConfig(production, { secrets: granted });
      for (const path of SECRET_FIELDS[secret]) {
        const error = withheldErrorOf(() => read(config, path));
        expect(error.secret).toBe(secret);
        expect(error.message).toContain(SECRET_ENV[secret]);
        expect(error.message).toContain("endpoint.ts");
      }
      // The granted ones read as configured.
      const other = secret === "OpsToken" ? "MongoUrl" : "OpsToken";
      expect(read(config, SECRET_FIELDS[other][0] as readonly [string, string?])).toBe(
        production[SECRET_ENV[other]],
      );
    },
  );

  it("withholds a secret's other forms with it: the key ring, the blind-index key", () => {
    const ring = `k1:${b64(32)},k2:${b64(32)}`;
    const config = parseConfig(
      { ...production, ENCRYPTION_KEYS: ring, BLIND_INDEX_KEY: randomBytes(32).toString("base64url") },
      { secrets: REDIS_SECRETS },
    );
    expect(withheldErrorOf(() => config.encryption).secret).toBe("EncryptionKey");
    expect(withheldErrorOf(() => config.blindIndexKey).secret).toBe("EmailSalt");
  });

  it("never lets an ungranted MONGO_URL fall back to SQLite: the store refuses to open", async () => {
    const context = createContext(parseConfig(testEnv({ MONGO_URL: "" }), { secrets: REDIS_SECRETS }));
    await expect(context.store()).rejects.toBeInstanceOf(SecretWithheldError);
    await expect(context.auditLog()).rejects.toBeInstanceOf(SecretWithheldError);
    await expect(context.keyRing()).rejects.toBeInstanceOf(SecretWithheldError);
    await expect(context.accountDeps("tokens")).rejects.toBeInstanceOf(SecretWithheldError);
    await expect(context.accountDeps("blindIndex")).rejects.toBeInstanceOf(SecretWithheldError);
  });

  it("a context narrowed with withSecrets shares nothing it was not granted", async () => {
    const base = createContext(parseConfig(testEnv({ MONGO_URL: "" })));
    const narrowed = base.withSecrets(["EncryptionKey", "MongoUrl"]);
    expect(() => narrowed.kv()).toThrow(SecretWithheldError);
    await expect(narrowed.queue()).rejects.toBeInstanceOf(SecretWithheldError);
    expect(await narrowed.keyRing()).toBe(await base.keyRing());
    await base.close();
  });

  it("restricting does not change the configuration it views", () => {
    const config = parseConfig(production);
    const view = restrictConfig(config, []);
    expect(() => view.redis.restToken).toThrow(SecretWithheldError);
    expect(config.redis.restToken).toBe(production.UPSTASH_REDIS_REST_TOKEN);
    expect(view.redis.timeoutMs).toBe(config.redis.timeoutMs);
  });

  it("every spec grants only known secrets, without duplicates", async () => {
    for (const fn of await buildManifest(["User1"])) {
      const secrets: readonly SecretName[] = fn.secrets;
      expect(new Set(secrets).size, fn.name).toBe(secrets.length);
      for (const s of secrets) expect(ALL_SECRETS, fn.name).toContain(s);
    }
  });
});
