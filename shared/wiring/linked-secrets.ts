/**
 * Secrets SST links to a deployed function (`link` in `sst.config.ts`): SST encrypts them into the
 * bundle (`resource.enc`, key in `SST_KEY`) instead of plain environment variables, and
 * `Resource.<Name>.value` reads them. This maps each linked secret back to the environment name
 * the configuration reads (`SECRET_ENV`), so `parseConfig` sees one environment either way.
 * Outside SST (local runtime, tests) nothing is linked and the result is empty.
 *
 * Node-only (`sst/resource` decrypts with `node:crypto`): the composition root uses it; edge
 * functions do not.
 */
import { Resource } from "sst/resource";
import { SECRET_ENV } from "../config/secrets";

/** `{ JWT_SECRET: "…", … }` for every secret linked to this function. Never throws. */
export function linkedSecrets(): Record<string, string> {
  const linked = Resource as unknown as Record<string, { value?: unknown } | undefined>;
  const env: Record<string, string> = {};
  for (const [name, variable] of Object.entries(SECRET_ENV)) {
    // `in` goes through the proxy's has-trap, which never throws for an unlinked name.
    if (!(name in linked)) continue;
    const value = linked[name]?.value;
    if (typeof value === "string") env[variable] = value;
  }
  return env;
}
