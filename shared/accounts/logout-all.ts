import type { DepsOf } from "./deps";
import { type Principal, revokeAllSessions } from "./sessions";

/** The dependencies this module's use-case reads (built lazily: see `shared/wiring/account-deps.ts`). */
export const LOGOUT_ALL_DEPS = ["kv"] as const;
type LogoutAllDeps = DepsOf<typeof LOGOUT_ALL_DEPS>;

/**
 * Logs the caller out everywhere ("log out of all devices"): advances the user's credential epoch,
 * so every access AND refresh token issued so far — and any session a login racing this call
 * started under the old epoch — is refused from now on (`authenticate` compares the access token's
 * `cep` claim, `refresh.ts` the family's epoch). A later login works: it reads the new epoch. Two
 * calls in the same second both take effect (each advances the counter).
 * @throws whatever the Kv throws when Redis cannot answer (the HTTP layer answers 503).
 */
export async function logoutEverywhere(deps: LogoutAllDeps, principal: Principal): Promise<void> {
  await revokeAllSessions(deps, principal.kind, principal.userId);
}
