/**
 * Runtime guards shared by every {@link UserStore} adapter. The port is typed, but TypeScript types
 * vanish at run time and an adapter is the last line before a query: these checks make a bad kind,
 * a non-string id (e.g. a parsed `{"$ne": null}` object) or a patch that tries to touch `id`,
 * `emailIndex` or `version` a thrown programming error instead of a query (OWASP ASVS 5.3.4/5.3.5,
 * NoSQL and SQL injection; mass assignment).
 *
 * Pure, no I/O, no driver imports.
 */
import { USER_KIND_PATTERN } from "../config/user-kinds";
import type { UserPatch, UserQuery, UserRecord, UserStore } from "../ports/user-store";

/** How a patchable field is typed at run time. */
type FieldType = "string" | "nullableString" | "boolean";

/** Every field a {@link UserPatch} may carry, with its runtime type. The only source of patchable names. */
export const PATCH_FIELD_TYPES = {
  email: "string",
  firstName: "string",
  lastName: "string",
  phone: "string",
  countryCode: "string",
  country: "nullableString",
  passwordHash: "string",
  dataKey: "string",
  emailVerified: "boolean",
  phoneVerified: "boolean",
  mfa: "nullableString",
} as const satisfies Record<keyof Required<UserPatch>, FieldType>;

/** A patchable field name. */
export type PatchField = keyof typeof PATCH_FIELD_TYPES;

/** One validated patch entry: a known field and a value of that field's type. */
export type PatchEntry = { [F in PatchField]: { field: F; value: Required<UserPatch>[F] } }[PatchField];

/**
 * Validates the kinds a store serves (each matches `USER_KIND_PATTERN`, no case-insensitive duplicates,
 * since SQLite table names are case-insensitive).
 * @returns the kinds as a set, for {@link assertKnownKind}.
 * @throws Error naming the offending kind.
 */
export function validateKinds(kinds: readonly string[]): ReadonlySet<string> {
  if (kinds.length === 0) throw new Error("a user store needs at least one kind");
  const seen = new Set<string>();
  for (const kind of kinds) {
    if (typeof kind !== "string" || !USER_KIND_PATTERN.test(kind)) {
      throw new Error(`invalid user kind ${JSON.stringify(kind)}: must match ${USER_KIND_PATTERN}`);
    }
    const folded = kind.toLowerCase();
    if (seen.has(folded)) throw new Error(`duplicate user kind (case-insensitive): ${kind}`);
    seen.add(folded);
  }
  return new Set(kinds);
}

/**
 * Checks that `kind` is one the store was built for. Unknown kinds are programming errors.
 * @throws Error when the kind is not served.
 */
export function assertKnownKind(kinds: ReadonlySet<string>, kind: string): void {
  if (typeof kind !== "string" || !kinds.has(kind)) {
    throw new Error(`unknown user kind ${JSON.stringify(String(kind))}`);
  }
}

/**
 * Checks that a lookup key (id, email index) is a string, so no object can reach a query filter.
 * @throws TypeError naming the parameter.
 */
export function assertString(name: string, value: unknown): asserts value is string {
  if (typeof value !== "string") throw new TypeError(`${name} must be a string, got ${typeof value}`);
}

/**
 * Checks a compare-and-set version: a positive safe integer.
 * @throws TypeError otherwise.
 */
export function assertVersion(value: unknown): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new TypeError("expectedVersion must be a positive safe integer");
  }
}

function checkType(name: string, type: FieldType, value: unknown): void {
  const ok =
    type === "boolean"
      ? typeof value === "boolean"
      : typeof value === "string" || (type === "nullableString" && value === null);
  if (!ok) throw new TypeError(`${name} must be ${type === "nullableString" ? "string or null" : type}`);
}

/**
 * Checks every field of a record about to be created: strings are strings, booleans booleans,
 * times and version safe integers, and no extra fields.
 * @throws TypeError naming the first bad field.
 */
export function assertUserRecord(record: UserRecord): void {
  if (typeof record !== "object" || record === null) throw new TypeError("record must be an object");
  assertString("id", record.id);
  assertString("emailIndex", record.emailIndex);
  for (const [field, type] of Object.entries(PATCH_FIELD_TYPES)) {
    checkType(field, type, (record as unknown as Record<string, unknown>)[field]);
  }
  for (const field of ["createdAtMs", "updatedAtMs"] as const) {
    if (!Number.isSafeInteger(record[field])) throw new TypeError(`${field} must be a safe integer`);
  }
  assertVersion(record.version);
  const allowed = new Set<string>(["id", "emailIndex", "createdAtMs", "updatedAtMs", "version"]);
  for (const key of Object.keys(PATCH_FIELD_TYPES)) allowed.add(key);
  const extra = Object.keys(record).filter((k) => !allowed.has(k));
  if (extra.length > 0) throw new TypeError(`unknown record fields: ${extra.join(", ")}`);
}

/**
 * Turns a patch into validated entries, skipping fields whose value is `undefined`.
 * A field outside {@link PATCH_FIELD_TYPES} (e.g. `id`, `emailIndex`, `version`) is rejected rather
 * than dropped, so a caller bug cannot silently lose or smuggle a change.
 * @throws TypeError naming the unknown or mistyped field.
 */
export function patchEntries(patch: UserPatch): PatchEntry[] {
  if (typeof patch !== "object" || patch === null) throw new TypeError("patch must be an object");
  const entries: PatchEntry[] = [];
  for (const [field, value] of Object.entries(patch)) {
    if (!Object.hasOwn(PATCH_FIELD_TYPES, field)) throw new TypeError(`field ${field} cannot be patched`);
    if (value === undefined) continue;
    checkType(field, PATCH_FIELD_TYPES[field as PatchField], value);
    entries.push({ field, value } as PatchEntry);
  }
  return entries;
}

/**
 * Wraps a page fetcher as the async iterable {@link UserStore.emailIndexes} returns, using keyset
 * pagination (each page starts strictly after the last index seen) so pages never skip or repeat
 * entries, whatever is inserted or deleted meanwhile, and no server cursor stays open between pages.
 * @param fetchPage returns up to `pageSize` indexes greater than `after` (all from the start when `null`), ascending.
 * @param start the first page starts strictly after it (`null`: from the beginning).
 */
export async function* keysetPages(
  pageSize: number,
  fetchPage: (after: string | null, pageSize: number) => Promise<string[]> | string[],
  start: string | null = null,
): AsyncGenerator<string> {
  let after: string | null = start;
  for (;;) {
    const page = await fetchPage(after, pageSize);
    yield* page;
    const last = page.at(-1);
    if (page.length < pageSize || last === undefined) return;
    after = last;
  }
}

/**
 * Validates an email-index page size option.
 * @throws Error when not an integer in 1..10000.
 */
export function validatePageSize(pageSize: number): number {
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 10_000) {
    throw new Error("emailIndexPageSize must be an integer from 1 to 10000");
  }
  return pageSize;
}

/** A ring key id as a query may name it (the key ring's own pattern). */
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const QUERY_FIELDS = new Set([
  "emailVerified",
  "createdBeforeMs",
  "createdSinceMs",
  "dataKeyId",
  "dataKeyIdNot",
]);

/**
 * Checks a {@link UserQuery} before any adapter builds a filter from it: known fields only, a
 * boolean, safe-integer times, and key ids matching the key ring's id pattern (so a key id can be
 * put into a `LIKE`-free prefix comparison or an anchored regular expression unescaped).
 * @returns the query with `undefined` fields dropped.
 * @throws TypeError naming the first bad field.
 */
export function assertUserQuery(query: UserQuery): UserQuery {
  if (typeof query !== "object" || query === null) throw new TypeError("query must be an object");
  const out: UserQuery = {};
  for (const [field, value] of Object.entries(query)) {
    if (!QUERY_FIELDS.has(field)) throw new TypeError(`unknown query field ${field}`);
    if (value === undefined) continue;
    if (field === "emailVerified") {
      if (typeof value !== "boolean") throw new TypeError("emailVerified must be a boolean");
      out.emailVerified = value;
    } else if (field === "createdBeforeMs" || field === "createdSinceMs") {
      if (!Number.isSafeInteger(value)) throw new TypeError(`${field} must be a safe integer`);
      out[field] = value as number;
    } else {
      if (typeof value !== "string" || !KEY_ID.test(value)) throw new TypeError(`${field} must be a key id`);
      out[field as "dataKeyId" | "dataKeyIdNot"] = value;
    }
  }
  return out;
}

/**
 * Checks a {@link UserStore.scan} page request: `afterId` a string or `null`, `limit` 1–1000.
 * @throws TypeError otherwise.
 */
export function assertScanPage(page: { afterId: string | null; limit: number }): void {
  if (typeof page !== "object" || page === null) throw new TypeError("page must be an object");
  if (page.afterId !== null) assertString("afterId", page.afterId);
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > 1000) {
    throw new TypeError("limit must be an integer from 1 to 1000");
  }
}

/** The `v1.<kid>.` prefix every data key wrapped under ring key `kid` starts with. */
export function wrappedKeyPrefix(keyId: string): string {
  return `v1.${keyId}.`;
}
