/**
 * Pure helpers of the MongoDB {@link UserStore} adapter: record ↔ document mapping, the `$set`
 * document of an update, and E11000 duplicate-key classification. No driver import, so they are
 * unit-tested without a server.
 */
import type { UserPatch, UserRecord, UserStore } from "../ports/user-store";
import { patchEntries } from "./user-record-guards";

/** A user as stored in `users_<kind>`: the record with `id` as `_id`, camelCase fields. */
export interface UserDoc {
  _id: string;
  emailIndex: string;
  email: string;
  firstName: string;
  lastName: string;
  phone: string;
  countryCode: string;
  country: string | null;
  passwordHash: string;
  dataKey: string;
  emailVerified: boolean;
  phoneVerified: boolean;
  createdAtMs: number;
  updatedAtMs: number;
  version: number;
  /** Second-factor envelope; absent on documents written before MFA existed. */
  mfa?: string | null;
}

/** Name of the unique index on `emailIndex`, created by the adapter; also used to classify E11000 errors. */
export const EMAIL_INDEX_NAME = "emailIndex_unique";

/** Collection name of a validated kind. */
export function collectionNameOf(kind: string): string {
  return `users_${kind}`;
}

/**
 * Collection of the update claims of a validated kind (see `mongo-update-claims.ts`). Not under the
 * `users_` prefix, so no kind's user collection can share its name.
 */
export function claimsCollectionNameOf(kind: string): string {
  return `user_claims_${kind}`;
}

/** Maps a record to its document, field by field (never a spread, so nothing extra is stored). */
export function toUserDoc(r: UserRecord): UserDoc {
  return {
    _id: r.id,
    emailIndex: r.emailIndex,
    email: r.email,
    firstName: r.firstName,
    lastName: r.lastName,
    phone: r.phone,
    countryCode: r.countryCode,
    country: r.country,
    passwordHash: r.passwordHash,
    dataKey: r.dataKey,
    emailVerified: r.emailVerified,
    phoneVerified: r.phoneVerified,
    createdAtMs: r.createdAtMs,
    updatedAtMs: r.updatedAtMs,
    version: r.version,
    mfa: r.mfa,
  };
}

/**
 * Maps a stored document back to a record, field by field, so `_id` and any foreign field a
 * hand-edited document may carry never reach callers. A missing `country` reads as `null`.
 */
export function fromUserDoc(d: UserDoc): UserRecord {
  return {
    id: d._id,
    emailIndex: d.emailIndex,
    email: d.email,
    firstName: d.firstName,
    lastName: d.lastName,
    phone: d.phone,
    countryCode: d.countryCode,
    country: d.country ?? null,
    passwordHash: d.passwordHash,
    dataKey: d.dataKey,
    emailVerified: d.emailVerified,
    phoneVerified: d.phoneVerified,
    createdAtMs: d.createdAtMs,
    updatedAtMs: d.updatedAtMs,
    version: d.version,
    mfa: d.mfa ?? null,
  };
}

/**
 * Builds the `$set` document of {@link UserStore.update}: the validated patch fields plus `updatedAtMs`.
 * Values are checked primitives, so no operator can be smuggled in through a value.
 * @throws TypeError for an unknown or mistyped patch field (see `patchEntries`).
 */
export function toSetDoc(patch: UserPatch, nowMs: number): Partial<UserDoc> {
  const set: Record<string, string | boolean | number | null> = {};
  for (const { field, value } of patchEntries(patch)) set[field] = value;
  set.updatedAtMs = nowMs;
  return set as Partial<UserDoc>;
}

/**
 * True for a MongoDB duplicate-key error (code 11000, "E11000"), whatever else it reports. Checked
 * structurally so it also covers write errors wrapped by the driver.
 */
export function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === 11000;
}

/**
 * Classifies a MongoDB duplicate-key error (code 11000, "E11000") of an insert by the index that
 * refused it: `keyPattern` when the server reports it (4.4+), else the index name in the message.
 * Checked structurally so it also covers write errors wrapped by the driver.
 * A server may report neither (FerretDB v1 says only `E11000 duplicate key error collection:
 * <db>.<collection>`); the store then asks which key is taken (see `createMongoUserStore`).
 * @returns `duplicate_email`, `duplicate_id`, or `null` when `error` is not a duplicate-key error or
 *   does not say which index refused it.
 */
export function duplicateCodeOf(error: unknown): "duplicate_email" | "duplicate_id" | null {
  if (!isDuplicateKeyError(error)) return null;
  const e = error as { keyPattern?: unknown; errmsg?: unknown; message?: unknown };
  if (typeof e.keyPattern === "object" && e.keyPattern !== null) {
    if (Object.hasOwn(e.keyPattern, "emailIndex")) return "duplicate_email";
    if (Object.hasOwn(e.keyPattern, "_id")) return "duplicate_id";
  }
  const text = `${typeof e.errmsg === "string" ? e.errmsg : ""} ${typeof e.message === "string" ? e.message : ""}`;
  if (text.includes(`index: ${EMAIL_INDEX_NAME} `)) return "duplicate_email";
  if (text.includes("index: _id_ ")) return "duplicate_id";
  return null;
}
