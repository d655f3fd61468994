import type { DepsOf } from "./deps";
import { revokeRefreshFamily } from "./refresh-tokens";
import { type Principal, revokeAccessToken } from "./sessions";

/** The dependencies this module's use-case reads (built lazily: see `shared/wiring/account-deps.ts`). */
export const LOGOUT_DEPS = ["kv", "nowMs", "settings"] as const;
type LogoutDeps = DepsOf<typeof LOGOUT_DEPS>;

/**
 * Logs out one session: revokes the presented access token until it expires and, when the token
 * belongs to a session (`sid`), that session's whole refresh-token family — so neither the
 * refresh token nor any other access token of the session works afterwards. Other sessions of the
 * user (other devices) stay logged in; see `logout-all.ts` for those.
 */
export async function logout(deps: LogoutDeps, principal: Principal): Promise<void> {
  await Promise.all([
    revokeAccessToken(deps, principal),
    principal.sid ? revokeRefreshFamily(deps, principal.kind, principal.sid) : undefined,
  ]);
}
