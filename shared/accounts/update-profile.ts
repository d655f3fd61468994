import type { UserPatch } from "../ports/user-store";
import type { DepsOf } from "./deps";
import { invalidateProfile, missingToken, type Principal } from "./sessions";
import { updateWithRetry } from "./update-with-retry";
import { openUser, sealChanges, type UserProfile } from "./user-codec";

/** The dependencies this module's use-case reads (built lazily: see `shared/wiring/account-deps.ts`). */
export const UPDATE_PROFILE_DEPS = ["kv", "ring", "store"] as const;
type UpdateProfileDeps = DepsOf<typeof UPDATE_PROFILE_DEPS>;

/** Fields a user may change on their own profile. Phone is E.164, already normalised, with its derived country. */
export interface ProfileChanges {
  firstName?: string;
  lastName?: string;
  phone?: { e164: string; country: string | null };
  countryCode?: string;
}

/**
 * Updates the caller's own profile (token subject only). Changed personal fields are re-encrypted
 * under the record's data key; a new phone number clears `phone_verified` and re-derives the
 * country. The profile cache is invalidated after the write.
 *
 * @returns the updated profile.
 * @throws AuthError `unauthorized` (401) when the account no longer exists; `conflict` (409) when
 *   concurrent updates kept winning the race (see `updateWithRetry`).
 */
export async function updateProfile(
  deps: UpdateProfileDeps,
  principal: Principal,
  changes: ProfileChanges,
): Promise<UserProfile> {
  const { kind, userId } = principal;
  const result = await updateWithRetry(deps, kind, userId, async (record) => {
    const current = await openUser(deps.ring, kind, record);
    const pii: { firstName?: string; lastName?: string; phone?: string } = {};
    const patch: UserPatch = {};
    if (changes.firstName !== undefined && changes.firstName !== current.firstName)
      pii.firstName = changes.firstName;
    if (changes.lastName !== undefined && changes.lastName !== current.lastName)
      pii.lastName = changes.lastName;
    if (changes.phone !== undefined && changes.phone.e164 !== current.phone) {
      pii.phone = changes.phone.e164;
      patch.country = changes.phone.country;
      patch.phoneVerified = false;
    }
    if (changes.countryCode !== undefined && changes.countryCode !== current.countryCode) {
      patch.countryCode = changes.countryCode;
    }
    Object.assign(patch, await sealChanges(deps.ring, kind, record, pii));
    return Object.keys(patch).length > 0 ? patch : null;
  });
  if (!result) throw missingToken();
  await invalidateProfile(deps, kind, userId);
  return openUser(deps.ring, kind, result.record);
}
