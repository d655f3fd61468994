/**
 * The second-factor state of an account (DESIGN.md §10) and how it is stored: one JSON document,
 * encrypted as a field envelope under the record's own data key with AAD `<kind>|<id>|mfa`
 * (`user-codec.ts` rules), in the record's `mfa` column. So the TOTP secret is encrypted at rest like
 * every other personal field, a state copied to another record or kind fails to open, and a
 * password reset (which writes only the password hash) never touches it.
 */
import { dataKeyAad, fieldAad, type KeyRing } from "../crypto/envelope";
import type { UserPatch, UserRecord } from "../ports/user-store";

/** A second factor a user can enrol. */
export type MfaFactor = "totp" | "sms";
/** A way to pass the second factor at login: an enrolled factor, or a recovery code. */
export type MfaMethod = MfaFactor | "recovery_code";

/** The decrypted state. Times are epoch milliseconds. */
export interface MfaState {
  v: 1;
  /** Authenticator app: the RFC 6238 secret (base32), and when it was enabled. */
  totp: { secret: string; enabledAtMs: number } | null;
  /** SMS codes to the profile's verified phone, and when they were enabled. */
  sms: { enabledAtMs: number } | null;
  /** Keyed hashes of the unused recovery codes (`crypto/recovery-codes.ts`). */
  recoveryCodes: string[];
}

/** An empty state (no factor), the start of an enrolment. */
export const NO_MFA: MfaState = { v: 1, totp: null, sms: null, recoveryCodes: [] };

const MFA_FIELD = "mfa";

/** Whether a state has at least one factor enrolled (recovery codes alone are not a factor). */
export function hasFactor(state: MfaState | null): state is MfaState {
  return state !== null && (state.totp !== null || state.sms !== null);
}

/**
 * The methods a login can pass the second factor with, in a fixed order: `totp`, `sms`, then
 * `recovery_code` while unused codes remain. Empty when no factor is enrolled.
 */
export function methodsOf(state: MfaState | null): MfaMethod[] {
  if (!hasFactor(state)) return [];
  const methods: MfaMethod[] = [];
  if (state.totp) methods.push("totp");
  if (state.sms) methods.push("sms");
  if (state.recoveryCodes.length > 0) methods.push("recovery_code");
  return methods;
}

/**
 * Decrypts a record's state; `null` when none is stored.
 * @throws CryptoError when the data key or the envelope does not open (stored data or keys are wrong).
 */
export async function openMfaState(
  ring: KeyRing,
  kind: string,
  record: UserRecord,
): Promise<MfaState | null> {
  if (!record.mfa) return null;
  const key = await ring.unwrapDataKey(record.dataKey, dataKeyAad(kind, record.id));
  const state = JSON.parse(await key.decryptField(record.mfa, fieldAad(kind, record.id, MFA_FIELD)));
  return { ...NO_MFA, ...(state as MfaState) };
}

/**
 * The patch that stores `state` on `record` (encrypted under its data key), or clears it when no
 * factor is left (`mfa: null`: the recovery codes go with the last factor).
 * @throws CryptoError when the record's data key does not unwrap.
 */
export async function sealMfaState(
  ring: KeyRing,
  kind: string,
  record: UserRecord,
  state: MfaState,
): Promise<UserPatch> {
  if (!hasFactor(state)) return { mfa: null };
  const key = await ring.unwrapDataKey(record.dataKey, dataKeyAad(kind, record.id));
  return { mfa: await key.encryptField(JSON.stringify(state), fieldAad(kind, record.id, MFA_FIELD)) };
}
