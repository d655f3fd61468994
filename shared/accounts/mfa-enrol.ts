/**
 * Enrolling and changing an account's second factor (issue #16 item 1), always for the caller's
 * own account (the bearer token's subject). Every change asks for the current password as step-up
 * (OWASP Authentication Cheat Sheet: re-authenticate for sensitive actions), reserved on the
 * login throttle first like every password check; a change that also asks for a code keeps the
 * attempt counted when the code is wrong. Every change and every refused change is mailed to the
 * address on record (`mfa-notices.ts`); the HTTP layer audits each request (`mfa_change`).
 *
 * Enabling a factor ends every session of the account (the credential epoch advances): sessions
 * started with the password alone must not outlive the rule that the account now needs two
 * factors, so nothing keeps issuing tokens without the second one. The client logs in again.
 */
import { createRecoveryCodes, hashRecoveryCode, normaliseRecoveryCode } from "../crypto/recovery-codes";
import { createTotpSecret, totpUri } from "../crypto/totp";
import { AuthError } from "../errors";
import type { UserRecord } from "../ports/user-store";
import { wrongPassword } from "./delete-account";
import type { DepsOf } from "./deps";
import { redisKeys } from "./keys";
import { type AttemptSource, reserveAttempt } from "./login";
import { acceptTotp, invalidMfaCode, spendRecoveryCode } from "./mfa-codes";
import { MFA_NOTICE_DEPS, sendMfaNotice } from "./mfa-notices";
import {
  type MfaFactor,
  type MfaMethod,
  type MfaState,
  methodsOf,
  NO_MFA,
  openMfaState,
  sealMfaState,
} from "./mfa-state";
import { missingToken, type Principal, revokeAllSessions } from "./sessions";
import { updateWithRetry } from "./update-with-retry";
import { openUser } from "./user-codec";

/** How long a started authenticator setup waits for its confirming code, seconds. */
export const MFA_SETUP_TTL_SECONDS = 600;

/** The dependencies of every use-case in this module. */
export const MFA_ENROL_DEPS = [
  ...MFA_NOTICE_DEPS,
  "hasher",
  "kv",
  "loginThrottle",
  "nowMs",
  "otpKey",
  "settings",
  "store",
] as const;
type MfaEnrolDeps = DepsOf<typeof MFA_ENROL_DEPS>;

/** The dependencies of {@link setupTotp} and {@link mfaStatus} (no password check). */
export const MFA_READ_DEPS = ["kv", "ring", "settings", "store"] as const;
type MfaReadDeps = DepsOf<typeof MFA_READ_DEPS>;

const pendingAad = (kind: string, userId: string) => `${kind}|${userId}|mfa_totp_pending`;

/** What `GET /{kind}/mfa` shows. */
export interface MfaStatus {
  /** Enrolled factors (`totp`, `sms`) and `recovery_code` while unused codes remain. */
  methods: MfaMethod[];
  recoveryCodesRemaining: number;
  /** Whether an authenticator setup waits for its confirming code. */
  totpPending: boolean;
}

/** The caller's record, or 401 when the account is gone. */
async function ownRecord(deps: DepsOf<readonly ["store"]>, principal: Principal): Promise<UserRecord> {
  const record = await deps.store.findById(principal.kind, principal.userId);
  if (!record) throw missingToken();
  return record;
}

/**
 * The step-up: reserves an attempt on the account's login throttle, then checks the current
 * password. A wrong one keeps the attempt counted and mails the owner.
 * @returns the record and the reservation, to release once every check of the change passed.
 * @throws AuthError `too_many_attempts` (429), `incorrect_password` (403).
 */
async function stepUp(deps: MfaEnrolDeps, principal: Principal, password: string, source: AttemptSource) {
  const record = await ownRecord(deps, principal);
  const attempt = await reserveAttempt(deps, principal.kind, record.emailIndex, source);
  if (!(await deps.hasher.verify(record.passwordHash, password))) {
    await refused(deps, principal.kind, record);
    throw wrongPassword();
  }
  return { record, attempt };
}

/** A refused change: one notice per account per minute, so a burst of guesses mails once. */
async function refused(deps: MfaEnrolDeps, kind: string, record: UserRecord): Promise<void> {
  await sendMfaNotice(
    deps,
    kind,
    record,
    "change_failed",
    `${record.id}:${Math.floor(deps.nowMs() / 60_000)}`,
  );
}

/**
 * Writes a new state with compare-and-set (retried on a lost race; `change` sees the freshest
 * state each time and may refuse by throwing).
 * @returns the stored state.
 */
async function writeState(
  deps: MfaEnrolDeps,
  principal: Principal,
  change: (state: MfaState, record: UserRecord) => MfaState,
): Promise<MfaState> {
  const { kind, userId } = principal;
  let written: MfaState = NO_MFA;
  const updated = await updateWithRetry(deps, kind, userId, async (record) => {
    written = change((await openMfaState(deps.ring, kind, record)) ?? NO_MFA, record);
    return sealMfaState(deps.ring, kind, record, written);
  });
  if (!updated) throw missingToken();
  return written;
}

/** A fresh set of recovery codes: the codes (shown once) and their keyed hashes (stored). */
function freshRecoveryCodes(deps: Pick<MfaEnrolDeps, "otpKey">, principal: Principal) {
  const codes = createRecoveryCodes();
  const ctx = { kind: principal.kind, userId: principal.userId };
  const hashes = codes.map((c) => hashRecoveryCode(deps.otpKey, ctx, normaliseRecoveryCode(c) as string));
  return { codes, hashes };
}

/**
 * `POST /{kind}/mfa/totp/setup`: starts an authenticator enrolment. A new secret waits (sealed with
 * the key ring in Redis, {@link MFA_SETUP_TTL_SECONDS}) for `mfa/totp/enable` to confirm it with a
 * code; a new setup replaces a waiting one. Nothing changes on the account yet.
 * @returns the base32 secret and its `otpauth://` URI (issuer `APP_NAME`, label the account's email).
 * @throws AuthError `mfa_already_enabled` (409) when an authenticator is enrolled already.
 */
export async function setupTotp(
  deps: MfaReadDeps,
  principal: Principal,
): Promise<{ secret: string; otpauthUri: string }> {
  const { kind, userId } = principal;
  const record = await ownRecord(deps, principal);
  if ((await openMfaState(deps.ring, kind, record))?.totp) throw new AuthError("mfa_already_enabled");
  const profile = await openUser(deps.ring, kind, record);
  const secret = createTotpSecret();
  await deps.kv.set(
    redisKeys.mfaPendingTotp(kind, userId),
    await deps.ring.seal(secret, pendingAad(kind, userId)),
    {
      ttlSeconds: MFA_SETUP_TTL_SECONDS,
    },
  );
  return { secret, otpauthUri: totpUri(secret, deps.settings.appName, profile.email) };
}

/**
 * `POST /{kind}/mfa/totp/enable`: confirms the waiting setup with a code of its secret (that step
 * can never be used again) and the password, enrols the authenticator with a fresh set of recovery
 * codes (any older set dies), ends every session and mails the owner.
 * @returns the recovery codes (shown only here) and the enrolled methods.
 * @throws AuthError `incorrect_password` (403), `too_many_attempts` (429), `mfa_setup_required` /
 *   `mfa_already_enabled` (409), `invalid_mfa_code` (400).
 */
export async function enableTotp(
  deps: MfaEnrolDeps,
  principal: Principal,
  code: string,
  password: string,
  source: AttemptSource,
): Promise<{ recoveryCodes: string[]; methods: MfaMethod[] }> {
  const { kind, userId } = principal;
  const { record, attempt } = await stepUp(deps, principal, password, source);
  const sealed = await deps.kv.get(redisKeys.mfaPendingTotp(kind, userId));
  if (!sealed) throw new AuthError("mfa_setup_required");
  let secret: string;
  try {
    secret = await deps.ring.openText(sealed, pendingAad(kind, userId));
  } catch {
    throw new AuthError("mfa_setup_required"); // e.g. its key left the ring: start again
  }
  if (!(await acceptTotp(deps, kind, userId, secret, code))) {
    await refused(deps, kind, record);
    throw invalidMfaCode();
  }
  await deps.loginThrottle.succeeded(attempt);
  const fresh = freshRecoveryCodes(deps, principal);
  const state = await writeState(deps, principal, (current) => {
    if (current.totp) throw new AuthError("mfa_already_enabled");
    return { ...current, totp: { secret, enabledAtMs: deps.nowMs() }, recoveryCodes: fresh.hashes };
  });
  await deps.kv.del(redisKeys.mfaPendingTotp(kind, userId));
  await revokeAllSessions(deps, kind, userId);
  await sendMfaNotice(deps, kind, record, "totp_enabled", `${userId}:${record.version}`);
  return { recoveryCodes: fresh.codes, methods: methodsOf(state) };
}

/**
 * `POST /{kind}/mfa/sms/enable`: makes SMS codes to the profile's verified phone a second factor
 * (password step-up), ends every session and mails the owner. The first factor of an account also
 * brings its first set of recovery codes.
 * @returns the enrolled methods, and the recovery codes when a new set was made (else `[]`).
 * @throws AuthError `incorrect_password` (403), `too_many_attempts` (429), `phone_not_verified` /
 *   `mfa_already_enabled` (409).
 */
export async function enableSms(
  deps: MfaEnrolDeps,
  principal: Principal,
  password: string,
  source: AttemptSource,
): Promise<{ recoveryCodes: string[]; methods: MfaMethod[] }> {
  const { kind, userId } = principal;
  const { record, attempt } = await stepUp(deps, principal, password, source);
  await deps.loginThrottle.succeeded(attempt);
  const fresh = freshRecoveryCodes(deps, principal);
  let issued: string[] = [];
  const state = await writeState(deps, principal, (current, latest) => {
    if (!latest.phoneVerified) throw new AuthError("phone_not_verified");
    if (current.sms) throw new AuthError("mfa_already_enabled");
    issued = current.recoveryCodes.length === 0 ? fresh.codes : [];
    return {
      ...current,
      sms: { enabledAtMs: deps.nowMs() },
      recoveryCodes: current.recoveryCodes.length === 0 ? fresh.hashes : current.recoveryCodes,
    };
  });
  await revokeAllSessions(deps, kind, userId);
  await sendMfaNotice(deps, kind, record, "sms_enabled", `${userId}:${record.version}`);
  return { recoveryCodes: issued, methods: methodsOf(state) };
}

/**
 * `POST /{kind}/mfa/disable`: removes one factor, with the password and a current second-factor
 * code: an authenticator code (when one is enrolled) or a recovery code. Removing the last factor
 * removes the recovery codes too. Mails the owner; sessions stay (they passed two factors).
 * @returns the methods still enrolled.
 * @throws AuthError `incorrect_password` (403), `too_many_attempts` (429), `mfa_method_not_enrolled`
 *   (422), `invalid_mfa_code` (400).
 */
export async function disableFactor(
  deps: MfaEnrolDeps,
  principal: Principal,
  factor: MfaFactor,
  password: string,
  code: string,
  source: AttemptSource,
): Promise<{ methods: MfaMethod[] }> {
  const { kind, userId } = principal;
  const { record, attempt } = await stepUp(deps, principal, password, source);
  const current = await openMfaState(deps.ring, kind, record);
  if (!current?.[factor]) throw new AuthError("mfa_method_not_enrolled");
  const passed =
    (current.totp !== null && (await acceptTotp(deps, kind, userId, current.totp.secret, code))) ||
    (await spendRecoveryCode(deps, kind, userId, code));
  if (!passed) {
    await refused(deps, kind, record);
    throw invalidMfaCode();
  }
  await deps.loginThrottle.succeeded(attempt);
  const state = await writeState(deps, principal, (latest) => ({ ...latest, [factor]: null }));
  await sendMfaNotice(
    deps,
    kind,
    record,
    factor === "totp" ? "totp_disabled" : "sms_disabled",
    `${userId}:${record.version}`,
  );
  return { methods: methodsOf(state) };
}

/**
 * `POST /{kind}/mfa/recovery_codes`: replaces the recovery codes with a fresh set (password
 * step-up); the old set dies at once. Mails the owner.
 * @returns the new codes (shown only here).
 * @throws AuthError `incorrect_password` (403), `too_many_attempts` (429), `mfa_not_enabled` (409).
 */
export async function regenerateRecoveryCodes(
  deps: MfaEnrolDeps,
  principal: Principal,
  password: string,
  source: AttemptSource,
): Promise<{ recoveryCodes: string[] }> {
  const { record, attempt } = await stepUp(deps, principal, password, source);
  await deps.loginThrottle.succeeded(attempt);
  const fresh = freshRecoveryCodes(deps, principal);
  await writeState(deps, principal, (current) => {
    if (methodsOf(current).length === 0) throw new AuthError("mfa_not_enabled");
    return { ...current, recoveryCodes: fresh.hashes };
  });
  await sendMfaNotice(
    deps,
    principal.kind,
    record,
    "recovery_codes_regenerated",
    `${principal.userId}:${record.version}`,
  );
  return { recoveryCodes: fresh.codes };
}

/** `GET /{kind}/mfa`: what is enrolled, how many recovery codes remain, whether a setup waits. */
export async function mfaStatus(deps: MfaReadDeps, principal: Principal): Promise<MfaStatus> {
  const record = await ownRecord(deps, principal);
  const [state, pending] = await Promise.all([
    openMfaState(deps.ring, principal.kind, record),
    deps.kv.get(redisKeys.mfaPendingTotp(principal.kind, principal.userId)),
  ]);
  return {
    methods: methodsOf(state),
    recoveryCodesRemaining: methodsOf(state).length > 0 ? (state?.recoveryCodes.length ?? 0) : 0,
    totpPending: pending !== null,
  };
}
