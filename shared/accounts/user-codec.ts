import { dataKeyAad, fieldAad, type KeyRing } from "../crypto/envelope";
import type { UserPatch, UserRecord } from "../ports/user-store";

/** The decrypted view of a user, as the profile endpoint shows it. Times are epoch milliseconds. */
export interface UserProfile {
  id: string;
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
  countryCode: string;
  country: string | null;
  emailVerified: boolean;
  phoneVerified: boolean;
  createdAtMs: number;
}

/** The personal fields stored encrypted (each bound by AAD to kind, record id and field name). */
export type PiiField = "email" | "firstName" | "lastName" | "phone";
const PII_FIELDS: readonly PiiField[] = ["email", "firstName", "lastName", "phone"];

/** Everything needed to create a record; PII in clear, sealed by {@link sealNewUser}. */
export interface NewUser extends Pick<UserProfile, PiiField | "countryCode" | "country"> {
  id: string;
  emailIndex: string;
  passwordHash: string;
  nowMs: number;
}

/**
 * Encrypts a new user into a storable record (DESIGN.md §4, envelope encryption): a fresh data key
 * per record, wrapped under the key ring's active key with AAD `<kind>|<id>`; each PII field
 * encrypted under the data key with AAD `<kind>|<id>|<field>`.
 */
export async function sealNewUser(ring: KeyRing, kind: string, user: NewUser): Promise<UserRecord> {
  const raw = ring.generateDataKey();
  const dataKey = await ring.wrapDataKey(raw, dataKeyAad(kind, user.id));
  const key = await ring.unwrapDataKey(dataKey, dataKeyAad(kind, user.id));
  raw.fill(0);
  const [email, firstName, lastName, phone] = await Promise.all(
    PII_FIELDS.map((f) => key.encryptField(user[f], fieldAad(kind, user.id, f))),
  );
  return {
    id: user.id,
    emailIndex: user.emailIndex,
    email: email as string,
    firstName: firstName as string,
    lastName: lastName as string,
    phone: phone as string,
    countryCode: user.countryCode,
    country: user.country,
    passwordHash: user.passwordHash,
    dataKey,
    emailVerified: false,
    phoneVerified: false,
    createdAtMs: user.nowMs,
    updatedAtMs: user.nowMs,
    version: 1,
    mfa: null,
  };
}

/**
 * Decrypts a stored record into a profile (never includes the password hash).
 * @throws CryptoError when the data key or any field fails to decrypt.
 */
export async function openUser(ring: KeyRing, kind: string, record: UserRecord): Promise<UserProfile> {
  const key = await ring.unwrapDataKey(record.dataKey, dataKeyAad(kind, record.id));
  const [email, firstName, lastName, phone] = await Promise.all(
    PII_FIELDS.map((f) => key.decryptField(record[f], fieldAad(kind, record.id, f))),
  );
  return {
    id: record.id,
    email: email as string,
    firstName: firstName as string,
    lastName: lastName as string,
    phone: phone as string,
    countryCode: record.countryCode,
    country: record.country,
    emailVerified: record.emailVerified,
    phoneVerified: record.phoneVerified,
    createdAtMs: record.createdAtMs,
  };
}

/**
 * Encrypts changed PII fields of an existing record under its own data key.
 * @returns the patch holding the new envelopes (only the fields given).
 * @throws CryptoError when the record's data key does not unwrap.
 */
export async function sealChanges(
  ring: KeyRing,
  kind: string,
  record: UserRecord,
  changes: Partial<Pick<UserProfile, PiiField>>,
): Promise<UserPatch> {
  const fields = PII_FIELDS.filter((f) => changes[f] !== undefined);
  if (fields.length === 0) return {};
  const key = await ring.unwrapDataKey(record.dataKey, dataKeyAad(kind, record.id));
  const sealed = await Promise.all(
    fields.map(
      async (f) => [f, await key.encryptField(changes[f] as string, fieldAad(kind, record.id, f))] as const,
    ),
  );
  return Object.fromEntries(sealed) as UserPatch;
}
