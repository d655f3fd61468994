import * as z from "zod";
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

/** What a ring key id may look like: 1–16 of `[A-Za-z0-9_-]` (it is written into every envelope). */
export const KEY_ID_FORMAT = /^[A-Za-z0-9_-]{1,16}$/;

/**
 * Key ids that can never name a ring key: `dk` marks an envelope sealed with a record's own data
 * key (`DATA_KEY_KID` in `shared/crypto/envelope.ts`), so the key ring refuses it; refusing it here
 * makes the function fail at cold start instead of every account request failing with a 500.
 */
export const RESERVED_KEY_IDS: readonly string[] = ["dk"];

/** Why `id` cannot be a ring key id, or `undefined` when it can. */
function keyIdProblem(id: string): string | undefined {
  if (!KEY_ID_FORMAT.test(id)) return `key id ${JSON.stringify(id)} must be 1–16 of [A-Za-z0-9_-]`;
  if (RESERVED_KEY_IDS.includes(id)) return `key id ${JSON.stringify(id)} is reserved for record data keys`;
  return undefined;
}

/** `ENCRYPTION_KEYS` (`k1:<base64>,k2:<base64>`): the keys in order, or the problem with the list. */
function keyList(raw: string): RingKey[] | Problem {
  const variable = "ENCRYPTION_KEYS";
  const entries: RingKey[] = [];
  for (const part of raw.split(",")) {
    const [rawId, value, ...rest] = part.trim().split(":");
    const id = rawId?.trim();
    const key = value === undefined ? null : decodeBase64(value);
    if (id === undefined || rest.length > 0 || key?.length !== 32)
      return {
        variable,
        message: "expected comma-separated `id:<base64 of 32 bytes>` entries, e.g. k1:AbC…,k2:XyZ…",
      };
    const idProblem = keyIdProblem(id);
    if (idProblem) return { variable, message: idProblem };
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
  const activeProblem = keyIdProblem(activeKeyId);
  if (activeProblem) return { variable: "ENCRYPTION_ACTIVE_KEY_ID", message: activeProblem };
  if (!keys.some((e) => e.id === activeKeyId))
    return {
      variable: "ENCRYPTION_ACTIVE_KEY_ID",
      message: `must name one of the configured key ids (${keys.map((e) => e.id).join(", ")})`,
    };
  return { keys, activeKeyId };
}

/**
 * The blind-index HMAC key: the UTF-8 bytes of `BLIND_INDEX_KEY`, else of `EMAIL_SALT`. Refused when
 * absent, shorter than 16 bytes, or weak (under 32 bytes or a placeholder) in production; that it
 * shares no key material with another secret is {@link keySeparationProblems}' job.
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
  if (production && isWeakSecret(raw, 32))
    return { variable, message: "weak or placeholder secret refused in production: use 32+ random bytes" };
  return new TextEncoder().encode(raw);
}

/** The secrets whose separation {@link keySeparationProblems} checks, as configured. */
export interface SeparatedSecrets {
  /** The key ring's keys, decoded. */
  ringKeys: readonly RingKey[];
  /** Which variable the ring came from. */
  ringVariable: "ENCRYPTION_KEY" | "ENCRYPTION_KEYS";
  /** The blind-index key as written, and its variable (`BLIND_INDEX_KEY` or `EMAIL_SALT`). */
  blindIndex: { variable: string; raw: string };
  /** Other secrets as written (`JWT_SECRET`, `OPS_TOKEN`), when set. */
  others: readonly { variable: string; raw: string }[];
}

const hexOf = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * Every byte string a secret written as text can end up being used as: its UTF-8 bytes as written
 * and trimmed (the blind-index key, the JWT secret and the operator token are used as UTF-8), and
 * — when it reads as base64 or base64url, padded or not, of at least 16 bytes — the bytes it
 * decodes to (how encryption keys are used). Two secrets that share any form share key material.
 */
function byteForms(raw: string): Set<string> {
  const utf8 = (s: string) => hexOf(new TextEncoder().encode(s));
  const forms = new Set([utf8(raw), utf8(raw.trim())]);
  const decoded = decodeBase64(raw);
  if (decoded && decoded.length >= 16) forms.add(hexOf(decoded));
  return forms;
}

/**
 * Key separation (NIST SP 800-57 Part 1 Rev. 5 §5.2, "a single key shall be used for only one
 * purpose"): no two roles — each encryption key of the ring, the blind-index key, the HS256 JWT
 * secret, the operator token — may share key material, compared as the BYTES each is or decodes
 * to ({@link byteForms}), never as the strings written: an `EMAIL_SALT` equal to `ENCRYPTION_KEY`
 * without its `=` padding, in base64url, or with spaces around it is the same key. Two ring
 * entries with the same key bytes under different ids are refused too (a rotation that rotates
 * nothing).
 * @returns one problem per clash, naming the variable of the later role and the role it clashes with.
 */
export function keySeparationProblems(secrets: SeparatedSecrets): Problem[] {
  const problems: Problem[] = [];
  const roles: { label: string; forms: Set<string> }[] = [];
  const claim = (variable: string, label: string, forms: Set<string>) => {
    const clash = roles.find((r) => [...forms].some((f) => r.forms.has(f)));
    if (clash)
      problems.push({
        variable,
        message: `${label} must not share key material with ${clash.label} (compared as decoded bytes)`,
      });
    roles.push({ label, forms });
  };
  for (const { id, key } of secrets.ringKeys)
    claim(secrets.ringVariable, `encryption key ${id}`, new Set([hexOf(key)]));
  claim(secrets.blindIndex.variable, secrets.blindIndex.variable, byteForms(secrets.blindIndex.raw));
  for (const other of secrets.others) claim(other.variable, other.variable, byteForms(other.raw));
  return problems;
}

/**
 * Decodes the encryption key ring and the blind-index key (`BLIND_INDEX_KEY`, or the seed's
 * `EMAIL_SALT`: at least 16 bytes, not weak in production), and checks that they — with
 * `JWT_SECRET` and `OPS_TOKEN` when `env` carries them — share no key material
 * ({@link keySeparationProblems}). Ring key ids must match {@link KEY_ID_FORMAT} and not be
 * reserved ({@link RESERVED_KEY_IDS}), in `ENCRYPTION_KEYS` and `ENCRYPTION_ACTIVE_KEY_ID` alike.
 */
export function parseKeys(
  env: KeysEnv & { JWT_SECRET?: string | undefined; OPS_TOKEN?: string | undefined },
  { production }: { production: boolean },
): Section<KeysConfig> {
  const encryption = parseKeyRing(env);
  const blindIndexKey = parseBlindIndexKey(env, production);
  if (isProblem(encryption) || isProblem(blindIndexKey))
    return { value: undefined, problems: [encryption, blindIndexKey].filter(isProblem) };
  const separation = keySeparationProblems({
    ringKeys: encryption.keys,
    ringVariable: env.ENCRYPTION_KEYS !== undefined ? "ENCRYPTION_KEYS" : "ENCRYPTION_KEY",
    blindIndex: {
      variable: env.BLIND_INDEX_KEY !== undefined ? "BLIND_INDEX_KEY" : "EMAIL_SALT",
      raw: env.BLIND_INDEX_KEY ?? env.EMAIL_SALT ?? "",
    },
    others: (["JWT_SECRET", "OPS_TOKEN"] as const).flatMap((variable) => {
      const raw = env[variable];
      return raw === undefined ? [] : [{ variable, raw }];
    }),
  });
  if (separation.length > 0) return { value: undefined, problems: separation };
  return { value: { encryption, blindIndexKey }, problems: [] };
}
