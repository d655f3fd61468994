import { exceedsPasswordBytes, passwordTooLong } from "../crypto/password-limit";
import { createOpaqueToken, randomId } from "../crypto/random";
import { AuthError } from "../errors";
import type { UserRecord } from "../ports/user-store";
import type { DepsOf } from "./deps";
import { redisKeys } from "./keys";
import { openUser, sealNewUser } from "./user-codec";

/** The dependencies this module's use-case reads (built lazily: see `shared/wiring/account-deps.ts`). */
export const REGISTER_DEPS = [
  "blindIndex",
  "emailBloom",
  "hasher",
  "kv",
  "notifier",
  "nowMs",
  "passwordPolicy",
  "ring",
  "settings",
  "store",
] as const;
type RegisterDeps = DepsOf<typeof REGISTER_DEPS>;

/** Validated registration input (the HTTP layer's zod schema guarantees shapes). */
export interface RegisterInput {
  firstName: string;
  lastName: string;
  email: string;
  /** E.164, already normalised. */
  phone: string;
  countryCode: string;
  /** ISO 3166-1 alpha-2 derived from the phone's calling code, or `null`. */
  country: string | null;
  password: string;
}

/** What registration answers — identical in shape whether or not the email was already registered. */
export interface RegisterResult {
  id: string;
}

/**
 * Registers a user of `kind` (DESIGN.md §4, §9).
 *
 * 1. Password: over `PASSWORD_MAX_BYTES` bytes of UTF-8 is 422 `password_too_long`; then the
 *    policy (NIST SP 800-63B length, zxcvbn strength with the user's names and email as
 *    context): a weak password is refused with 422 `weak_password` and the reasons.
 * 2. Blind index of the email; the Redis Bloom filter says "certainly new" (skip the read) or
 *    "maybe" (look up); a missing filter says "maybe" (issue #14 item 8), so the store is read.
 *    The store's unique index has the last word: two concurrent registrations of one email
 *    create exactly one account.
 * 3. An existing email gets the same answer as a new one — a fresh-looking id, after the same
 *    Argon2 cost — and its owner is mailed "someone tried to sign up" instead; so registration
 *    never reveals whether an email is registered.
 * 4. A new account gets a one-time verification token (256-bit, stored as SHA-256 with a TTL,
 *    single use), mailed as a link built from the configured public URL.
 *
 * @throws AuthError `weak_password` / `password_too_long` / `invalid_email` (422).
 */
export async function register(
  deps: RegisterDeps,
  kind: string,
  input: RegisterInput,
): Promise<RegisterResult> {
  if (exceedsPasswordBytes(input.password, deps.settings.passwordMaxBytes)) {
    throw passwordTooLong(deps.settings.passwordMaxBytes);
  }
  const policy = await deps.passwordPolicy.check(input.password, [
    input.firstName,
    input.lastName,
    input.email,
    input.email.split("@")[0] ?? "",
  ]);
  if (!policy.ok) {
    throw new AuthError("weak_password", {
      extensions: {
        errors: policy.reasons.map((message) => ({ field: "password", message, code: "weak_password" })),
      },
    });
  }
  const emailIndex = deps.blindIndex(kind, input.email);
  const bloom = deps.emailBloom(kind);
  const id = randomId("usr");
  // Hash first, on every path: the reply time must not depend on whether the email exists.
  const passwordHash = await deps.hasher.hash(input.password);
  const existing = (await bloom.mightContain(emailIndex))
    ? await deps.store.findByEmailIndex(kind, emailIndex)
    : null;
  if (existing) {
    await notifySignupAttempt(deps, kind, existing);
    return { id };
  }
  const record = await sealNewUser(deps.ring, kind, {
    id,
    emailIndex,
    email: input.email.trim(),
    firstName: input.firstName,
    lastName: input.lastName,
    phone: input.phone,
    countryCode: input.countryCode,
    country: input.country,
    passwordHash,
    nowMs: deps.nowMs(),
  });
  const created = await deps.store.create(kind, record);
  if (!created.ok) {
    if (created.code === "duplicate_email") {
      const owner = await deps.store.findByEmailIndex(kind, emailIndex);
      if (owner) await notifySignupAttempt(deps, kind, owner);
      await bloom.add(emailIndex);
      return { id: randomId("usr") };
    }
    throw new Error("user id collision"); // 128 random bits: a collision means a broken RNG
  }
  await bloom.add(emailIndex);
  await sendVerificationEmail(deps, kind, id, input.email.trim(), input.firstName);
  return { id };
}

/**
 * Issues a fresh email-verification token for a user and queues the link.
 * The token is random (256 bits) and stored only as its SHA-256 under the `verify_email` purpose.
 */
export async function sendVerificationEmail(
  deps: RegisterDeps,
  kind: string,
  userId: string,
  email: string,
  firstName: string,
): Promise<void> {
  const { token, hash } = createOpaqueToken();
  await deps.kv.set(redisKeys.oneTimeToken(kind, "verify_email", hash), userId, {
    ttlSeconds: deps.settings.verifyEmailTtlSeconds,
  });
  const link = `${deps.settings.appUrl}/${kind}/verify?token=${encodeURIComponent(token)}`;
  await deps.notifier.notify(
    { type: "email.verify", kind, to: email, name: firstName, link },
    `verify:${kind}:${hash}`,
  );
}

async function notifySignupAttempt(deps: RegisterDeps, kind: string, owner: UserRecord) {
  // Mailed to the address on record, never the one typed now. Deduplicated per owner per hour so
  // repeated attempts cannot be used to flood the owner's inbox.
  const profile = await openUser(deps.ring, kind, owner);
  const hour = Math.floor(deps.nowMs() / 3_600_000);
  await deps.notifier.notify(
    { type: "email.signup_attempt", kind, to: profile.email, name: profile.firstName },
    `signup_attempt:${kind}:${owner.id}:${hour}`,
  );
}
