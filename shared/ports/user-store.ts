/**
 * The user store port: persistence of user records, one collection/table per user kind.
 * Adapters: embedded SQLite (`shared/adapters/sqlite-user-store.ts`, local default) and MongoDB
 * (`shared/adapters/mongo-user-store.ts`, production). Both pass `test/contract/user-store.contract.ts`.
 *
 * The store never sees plaintext PII: every personal field arrives already encrypted (an envelope
 * string, see `shared/crypto/envelope.ts`) and the email is found by its blind index.
 */

/** A stored user record, as DESIGN.md section 4 specifies. Times are epoch milliseconds. */
export interface UserRecord {
  /** `usr_` + ≥128 random bits, base64url. Primary key within a kind. */
  id: string;
  /** Blind index of the normalised email (HMAC-SHA-256, hex/base64url). Unique within a kind. */
  emailIndex: string;
  /** Encrypted envelopes (`v1.<kid>.<iv>.<ct>`), bound by AAD to kind, id and field name. */
  email: string;
  firstName: string;
  lastName: string;
  phone: string;
  /** ISO 3166-1 alpha-2 or calling code as the client sent it (plain, for filtering), e.g. `"US"` or `"+1"`. */
  countryCode: string;
  /** ISO 3166-1 alpha-2 country derived from the phone's calling code, or `null` when unknown. */
  country: string | null;
  /** Argon2id PHC string. */
  passwordHash: string;
  /** This record's data key, wrapped under a key-ring key (`v1.<kid>.<iv>.<ct>`). */
  dataKey: string;
  emailVerified: boolean;
  phoneVerified: boolean;
  createdAtMs: number;
  updatedAtMs: number;
  /** Optimistic-concurrency version; starts at 1 and increases by one on every update. */
  version: number;
  /**
   * The second-factor state (TOTP secret, SMS flag, recovery-code hashes) as one field envelope
   * under the record's data key, AAD-bound to kind, id and `mfa` (`shared/accounts/mfa-state.ts`);
   * `null` when no factor is enrolled (also what adapters read for rows written before MFA existed).
   */
  mfa: string | null;
}

/** Fields an update may change. `version` and `updatedAtMs` are managed by the store. */
export type UserPatch = Partial<
  Pick<
    UserRecord,
    | "email"
    | "firstName"
    | "lastName"
    | "phone"
    | "countryCode"
    | "country"
    | "passwordHash"
    | "dataKey"
    | "emailVerified"
    | "phoneVerified"
    | "mfa"
  >
>;

/** Outcome of {@link UserStore.create}: a duplicate blind index is an expected result, not a fault. */
export type CreateResult = { ok: true } | { ok: false; code: "duplicate_email" | "duplicate_id" };

/** Outcome of {@link UserStore.update}: `conflict` when `expectedVersion` no longer matches, `not_found` when gone. */
export type UpdateResult = { ok: true; record: UserRecord } | { ok: false; code: "conflict" | "not_found" };

/**
 * Which records {@link UserStore.scan} and {@link UserStore.count} select: every condition given must
 * hold (AND); an empty query selects every record of the kind. Times are epoch milliseconds; a key
 * id is a key-ring id (`[A-Za-z0-9_-]{1,32}`), matched against the `v1.<kid>.` prefix of the
 * record's wrapped data key.
 */
export interface UserQuery {
  /** Only records whose email is verified (`true`) or not (`false`). */
  emailVerified?: boolean;
  /** Only records created strictly before this time. */
  createdBeforeMs?: number;
  /** Only records created at or after this time. */
  createdSinceMs?: number;
  /** Only records whose data key is wrapped under this ring key. */
  dataKeyId?: string;
  /** Only records whose data key is NOT wrapped under this ring key (the rotation job's work list). */
  dataKeyIdNot?: string;
}

/** One page of {@link UserStore.scan}: the records in ascending id order, and where the next page starts. */
export interface UserPage {
  records: UserRecord[];
  /** Pass as `afterId` for the next page; `null` when the scan is complete. */
  next: string | null;
}

/**
 * Narrow persistence port (5 methods plus health, and the scans the scheduled jobs use). All methods take the user kind, which selects
 * the collection/table; an unknown kind is a programming error and throws.
 * Methods throw only on infrastructure faults (connection lost, disk full); expected outcomes are results.
 */
export interface UserStore {
  /** Inserts a new record; `duplicate_email` if the blind index is taken (atomic: the unique index decides). */
  create(kind: string, record: UserRecord): Promise<CreateResult>;
  /** Finds by id; `null` when absent. */
  findById(kind: string, id: string): Promise<UserRecord | null>;
  /** Finds by email blind index; `null` when absent. */
  findByEmailIndex(kind: string, emailIndex: string): Promise<UserRecord | null>;
  /** Applies `patch` iff the stored version equals `expectedVersion` (compare-and-set), bumping version and updatedAtMs. */
  update(kind: string, id: string, expectedVersion: number, patch: UserPatch): Promise<UpdateResult>;
  /**
   * Deletes by id; `true` if a record was removed. With `expectedVersion`, only while the stored
   * version still equals it (compare-and-delete: a record changed since it was read, e.g. verified
   * meanwhile, is left alone and `false` is returned); exclusive with a concurrent {@link UserStore.update}.
   */
  delete(kind: string, id: string, expectedVersion?: number): Promise<boolean>;
  /**
   * Streams every email blind index of a kind in ascending order (for rebuilding the Bloom filter),
   * in pages; with `after`, only the indexes strictly greater than it (to resume a rebuild).
   */
  emailIndexes(kind: string, after?: string): AsyncIterable<string>;
  /**
   * One keyset page of the records matching `query`, ascending by id, starting strictly after
   * `afterId` (from the first when `null`); at most `limit` (1–1000) records. Pages never skip or
   * repeat a record that exists throughout the scan, whatever is written meanwhile.
   * @throws TypeError for a malformed query, cursor or limit.
   */
  scan(kind: string, query: UserQuery, page: { afterId: string | null; limit: number }): Promise<UserPage>;
  /** How many records match `query` (for `/health/detailed`). @throws TypeError for a malformed query. */
  count(kind: string, query: UserQuery): Promise<number>;
  /** Cheap liveness probe for `/health`; throws if the store cannot answer. */
  ping(): Promise<void>;
  /** Releases connections/file handles (tests, dev server shutdown). */
  close(): Promise<void>;
}
