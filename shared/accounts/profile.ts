import type { DepsOf } from "./deps";
import { cacheProfile, missingToken, type Principal } from "./sessions";
import { openUser, type UserProfile } from "./user-codec";

/** The dependencies this module's use-case reads (built lazily: see `shared/wiring/account-deps.ts`). */
export const PROFILE_DEPS = ["kv", "ring", "settings", "store"] as const;
type ProfileDeps = DepsOf<typeof PROFILE_DEPS>;

/**
 * The caller's own profile. Uses the cached profile from {@link authenticate} when present (so an
 * authenticated read costs one Redis round trip); otherwise reads the store, decrypts, and caches
 * it encrypted. Acts on the token's subject only — there is no way to name another user.
 *
 * @throws AuthError `unauthorized` (401) when the account no longer exists.
 */
export async function getProfile(
  deps: ProfileDeps,
  principal: Principal,
  cached: UserProfile | null,
): Promise<UserProfile> {
  if (cached && cached.id === principal.userId) return cached;
  const record = await deps.store.findById(principal.kind, principal.userId);
  if (!record) throw missingToken();
  const profile = await openUser(deps.ring, principal.kind, record);
  await cacheProfile(deps, principal.kind, profile);
  return profile;
}
