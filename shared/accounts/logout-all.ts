import type { DepsOf } from "./deps";
import { maxTokenLifetimeSeconds, type Principal, revokeAllSessions } from "./sessions";

/** The dependencies this module's use-case reads (built lazily: see `shared/wiring/account-deps.ts`). */
export const LOGOUT_ALL_DEPS = ["kv", "nowMs", "settings"] as const;
type LogoutAllDeps = DepsOf<typeof LOGOUT_ALL_DEPS>;

/**
 * Logs the caller out everywhere ("log out of all devices"): stores the user's revoked-before
 * time, so every access AND refresh token issued up to this second is refused from now on
 * (`authenticate` compares access-token `iat`, `refresh.ts` compares refresh-token issue times).
 * A later login works: its tokens are issued after the mark (`issuedAtAfterRevocation`).
 */
export async function logoutEverywhere(deps: LogoutAllDeps, principal: Principal): Promise<void> {
  await revokeAllSessions(deps, principal.kind, principal.userId, maxTokenLifetimeSeconds(deps.settings));
}
