import type { AccountDeps } from "./deps";
import { maxTokenLifetimeSeconds, type Principal, revokeAllSessions } from "./sessions";

/**
 * Logs the caller out everywhere ("log out of all devices"): stores the user's revoked-before
 * time, so every access AND refresh token issued up to this second is refused from now on
 * (`authenticate` compares access-token `iat`, `refresh.ts` compares refresh-token issue times).
 * A later login works: its tokens are issued after the mark (`issuedAtAfterRevocation`).
 */
export async function logoutEverywhere(deps: AccountDeps, principal: Principal): Promise<void> {
  await revokeAllSessions(deps, principal.kind, principal.userId, maxTokenLifetimeSeconds(deps.settings));
}
