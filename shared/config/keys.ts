import { z } from "zod";
import { optionalString } from "./fields";
import { isProblem, type Problem, type Section } from "./section";
import { isWeakSecret, utf8Length } from "./weak-secrets";

/** One 32-byte AES-256-GCM key of the ring, by id. */
export interface RingKey {
  id: string;
  key: Uint8Array;
}

/** The data keys: decoded here so that a malformed key fails at cold start, not at the first request. */
export interface KeysConfig {
  /** Key ring for AES-256-GCM envelope encryption: 32-byte keys by id, one active for writes. */
  encryption: { keys: RingKey[]; activeKeyId: string };
  /** HMAC key of the email blind index (UTF-8 bytes of `BLIND_INDEX_KEY` or `EMAIL_SALT`). */
  blindIndexKey: Uint8Array;
}

/** Variables of the keys section. */
export const keysEnv = z.object({
  ENCRYPTION_KEY: optionalString,
  ENCRYPTION_KEYS: optionalString,
  ENCRYPTION_ACTIVE_KEY_ID: optionalString,
  EMAIL_SALT: optionalString,
  BLIND_INDEX_KEY: optionalString,
});

type KeysEnv = z.output<typeof keysEnv>;

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

/** `ENCRYPTION_KEYS` (`k1:<base64>,k2:<base64>`): the keys in order, or the problem with the list. */
function keyList(raw: string): RingKey[] | Problem {
  const variable = "ENCRYPTION_KEYS";
  const entries: RingKey[] = [];
  for (const part of raw.split(",")) {
    const [id, value, ...rest] = part.trim().split(":");
    const key = value === undefined ? null : decodeBase64(value);
    if (id === undefined || !/^[A-Za-z0-9_-]{1,16}$/.test(id) || rest.length > 0 || key?.length !== 32)
      return {
        variable,
        message: "expected comma-separated `id:<base64 of 32 bytes>` entries, e.g. k1:AbC…,k2:XyZ…",
      };
    if (entries.some((e) => e.id === id)) return { variable, message: `duplicate key id ${id}` };
    entries.push({ id, key });
  }
  return entries;
}

/** The ring's keys: `ENCRYPTION_KEYS`, else `ENCRYPTION_KEY` as the one key `k1`; one is required. */
function ringKeys(env: KeysEnv): RingKey[] | Problem {
  if (env.ENCRYPTION_KEYS !== undefined) return keyList(env.ENCRYPTION_KEYS);
  if (env.ENCRYPTION_KEY === undefined)
    return {
      variable: "ENCRYPTION_KEY",
      message: "required: 32 random bytes in base64 (or set ENCRYPTION_KEYS for a key ring)",
    };
  const key = decodeBase64(env.ENCRYPTION_KEY);
  if (key?.length !== 32)
    return {
      variable: "ENCRYPTION_KEY",
      message: "expected 32 random bytes in base64 or base64url (e.g. `openssl rand -base64 32`)",
    };
  return [{ id: "k1", key }];
}

/**
 * Parses `ENCRYPTION_KEYS` or `ENCRYPTION_KEY` into the key ring; the active key is
 * `ENCRYPTION_ACTIVE_KEY_ID`, else the last one listed. At most one problem.
 */
function parseKeyRing(env: KeysEnv): KeysConfig["encryption"] | Problem {
  const keys = ringKeys(env);
  if (isProblem(keys)) return keys;
  const activeKeyId = env.ENCRYPTION_ACTIVE_KEY_ID ?? keys[keys.length - 1]?.id ?? "k1";
  if (!keys.some((e) => e.id === activeKeyId))
    return {
      variable: "ENCRYPTION_ACTIVE_KEY_ID",
      message: `must name one of the configured key ids (${keys.map((e) => e.id).join(", ")})`,
    };
  return { keys, activeKeyId };
}

/**
 * The blind-index HMAC key: the UTF-8 bytes of `BLIND_INDEX_KEY`, else of `EMAIL_SALT`. Refused when
 * absent, shorter than 16 bytes, equal to an encryption key as written, or weak (under 32 bytes or
 * a placeholder) in production.
 */
function parseBlindIndexKey(env: KeysEnv, production: boolean): Uint8Array | Problem {
  const raw = env.BLIND_INDEX_KEY ?? env.EMAIL_SALT;
  const variable = env.BLIND_INDEX_KEY !== undefined ? "BLIND_INDEX_KEY" : "EMAIL_SALT";
  if (raw === undefined)
    return {
      variable: "EMAIL_SALT",
      message: "required: the blind-index HMAC key, at least 16 random bytes",
    };
  if (utf8Length(raw) < 16) return { variable, message: "too short: at least 16 bytes" };
  const encryptionKeys = [
    env.ENCRYPTION_KEY,
    ...(env.ENCRYPTION_KEYS?.split(",").map((p) => p.split(":")[1]) ?? []),
  ];
  if (encryptionKeys.includes(raw)) return { variable, message: "must differ from every encryption key" };
  if (production && isWeakSecret(raw, 32))
    return { variable, message: "weak or placeholder secret refused in production: use 32+ random bytes" };
  return new TextEncoder().encode(raw);
}

/**
 * Decodes the encryption key ring and the blind-index key (`BLIND_INDEX_KEY`, or the seed's
 * `EMAIL_SALT`): at least 16 bytes, never equal to an encryption key, not weak in production.
 * At most one problem each.
 */
export function parseKeys(env: KeysEnv, { production }: { production: boolean }): Section<KeysConfig> {
  const encryption = parseKeyRing(env);
  const blindIndexKey = parseBlindIndexKey(env, production);
  if (isProblem(encryption) || isProblem(blindIndexKey))
    return { value: undefined, problems: [encryption, blindIndexKey].filter(isProblem) };
  return { value: { encryption, blindIndexKey }, problems: [] };
}
