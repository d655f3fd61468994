import { AuthError } from "../errors";
import { rateLimitSubject } from "../http/client-address";
import type { UserRecord } from "../ports/user-store";
import type { DepsOf } from "./deps";
import { enrolledMethods, mfaRequired } from "./mfa-tokens";
import { PASSWORD_ONLY, type SessionTokens, startSession } from "./refresh-tokens";
import { readCredentialEpoch } from "./sessions";

/** The dependencies this module's use-case reads (built lazily: see `shared/wiring/account-deps.ts`). */
export const LOGIN_DEPS = [
  "blindIndex",
  "emailBloom",
  "hasher",
  "kv",
  "loginThrottle",
  "nowMs",
  "ring",
  "settings",
  "store",
  "tokens",
] as const;
type LoginDeps = DepsOf<typeof LOGIN_DEPS>;

/**
 * A successful login: an access token (JWT), its lifetime in seconds, and the first refresh token
 * of a new session (see `refresh-tokens.ts`).
 */
export type LoginResult = SessionTokens;

/** The one answer for "no such account" and "wrong password" (same status, code and body). */
export const invalidCredentials = () => new AuthError("invalid_credentials");

/** Where a password attempt comes from, as the HTTP layer saw it. */
export interface AttemptSource {
  /** The client address the platform reports (`c.get("clientAddress")`; IPv6 is counted by /64). */
  clientAddress: string;
}

/**
 * Reserves one password attempt on the throttle before any verification (F3/F6, DESIGN.md §9).
 * @throws AuthError `too_many_attempts` (429, with `retryAfterSeconds`) when the (account, address)
 *   pair or the account is locked.
 */
export async function reserveAttempt(
  deps: DepsOf<readonly ["loginThrottle"]>,
  kind: string,
  throttleKey: string,
  source: AttemptSource,
) {
  const gate = await deps.loginThrottle.reserve(kind, throttleKey, rateLimitSubject(source.clientAddress));
  if (!gate.allowed) {
    throw new AuthError("too_many_attempts", { retryAfterSeconds: gate.retryAfterSeconds });
  }
  return gate.attempt;
}

/**
 * Checks an email and password for `kind` (OWASP Authentication Cheat Sheet):
 * - the attempt is reserved on the throttle first, atomically, before any verification (per
 *   (account, client address) and per account; see `login-throttle.ts`), so parallel guesses
 *   cost what serial ones do;
 * - an unknown email (or an unusable one) costs the same Argon2 verification as a known one and
 *   answers exactly like a wrong password; both keep their reserved attempt counted;
 * - only after a correct password does an unverified email get 403 `email_not_verified`;
 * - a hash with outdated parameters is upgraded on success (best effort: a concurrent update wins);
 * - success starts a session: access token plus a refresh token of a new family, bound to the
 *   user's credential epoch as read BEFORE the password was verified, so a password reset or
 *   change, log out everywhere or deletion that lands meanwhile leaves no surviving session
 *   (security findings F1/F2). That read comes after the record was found, so a successful login
 *   re-reads the record and refuses when its password hash is no longer the one verified (a
 *   reset or change completed between the record read and the epoch read);
 * - an account with an enrolled second factor gets no session here: 403 `mfa_required` with a
 *   single-use MFA token bound to that epoch, to finish at `POST /{kind}/mfa/verify`
 *   (`mfa-login.ts`); its reserved attempt is not released (the codes that follow count on the
 *   same budget, and the one that passes releases it). Only a correct password reaches this point,
 *   so a wrong one answers 401 as for any account: nothing tells whether a factor is enrolled.
 *
 * @param source the client address the attempt comes from.
 * @throws AuthError `invalid_credentials` (401), `too_many_attempts` (429), `email_not_verified` (403),
 *   `mfa_required` (403, with `mfa_token`, `methods`, `expires_in`), `password_too_long` (422).
 */
export async function login(
  deps: LoginDeps,
  kind: string,
  email: string,
  password: string,
  source: AttemptSource,
): Promise<LoginResult> {
  let emailIndex: string | null;
  try {
    emailIndex = deps.blindIndex(kind, email);
  } catch {
    emailIndex = null; // not an address at all: treated exactly like an unknown account
  }
  const throttleKey = emailIndex ?? `invalid:${email.length}`;
  // The reservation and the Bloom probe go out together (one Redis round trip); the probe
  // reveals nothing to the caller, whatever the verdict.
  const [attempt, maybeRegistered] = await Promise.all([
    reserveAttempt(deps, kind, throttleKey, source),
    emailIndex === null ? false : deps.emailBloom(kind).mightContain(emailIndex),
  ]);
  let user: UserRecord | null = null;
  if (emailIndex !== null && maybeRegistered) {
    user = await deps.store.findByEmailIndex(kind, emailIndex);
  }
  // Read before the verification begins: the session gets this epoch, never a later one.
  const epoch = user ? await readCredentialEpoch(deps, kind, user.id) : 0;
  const ok = user
    ? await deps.hasher.verify(user.passwordHash, password)
    : await deps.hasher.dummyVerify(password);
  if (!user || !ok) throw invalidCredentials(); // the reserved attempt stays counted
  const methods = await enrolledMethods(deps.ring, kind, user);
  // With a second factor the login is not over: the attempt stays counted until a code passes,
  // so the password and the codes share one budget (mfa-login.ts).
  const refund = () => (methods.length === 0 ? deps.loginThrottle.succeeded(attempt) : Promise.resolve());
  if (!user.emailVerified) {
    await refund(); // the password was right
    throw new AuthError("email_not_verified");
  }
  // A password that is no longer the stored one is a failed attempt: it stays counted.
  if (!(await stillCurrentPassword(deps, kind, user))) throw invalidCredentials();
  if (deps.hasher.needsRehash(user.passwordHash)) {
    const passwordHash = await deps.hasher.hash(password);
    await deps.store.update(kind, user.id, user.version, { passwordHash });
  }
  if (methods.length > 0) throw await mfaRequired(deps, kind, user, epoch, methods);
  // The refund and the new session's record go out together: one Redis round trip (auto-pipelining).
  const [, session] = await Promise.all([refund(), startSession(deps, kind, user.id, epoch, PASSWORD_ONLY)]);
  return session;
}

/**
 * Whether `verified`'s password hash is still the user's stored one (a store read by id). Closes
 * the gap between finding the record and reading the credential epoch: a reset or change that
 * wrote its hash and advanced the epoch in that gap would otherwise let the old password start a
 * session under the new epoch.
 */
async function stillCurrentPassword(
  deps: Pick<LoginDeps, "store">,
  kind: string,
  verified: UserRecord,
): Promise<boolean> {
  const current = await deps.store.findById(kind, verified.id);
  return current !== null && current.passwordHash === verified.passwordHash;
}
