/**
 * The password capabilities a function passes to its context when it handles passwords. Kept out
 * of the composition root's own imports, so only the functions that import this module bundle the
 * Argon2 backends (and list `@node-rs/argon2` in `nodeInstall`) or zxcvbn's dictionaries.
 */
import { loadPasswordHasher } from "../crypto/password";
import type { PasswordCapabilities } from "./account-deps";

/** Verifies (and rehashes) passwords: login, account deletion. */
export const PASSWORD_HASHER: PasswordCapabilities = { passwordHasher: loadPasswordHasher };

/** Sets passwords: registration, reset, change (hasher plus the zxcvbn policy, imported on first check). */
export const PASSWORD_SETTER: PasswordCapabilities = {
  passwordHasher: loadPasswordHasher,
  passwordPolicy: async (options) =>
    (await import("../accounts/password-policy")).createPasswordPolicy(options),
};
