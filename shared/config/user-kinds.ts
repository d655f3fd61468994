/** The user pools served when `USER_KINDS` is not set. */
export const DEFAULT_USER_KINDS = ["User1", "User2"] as const;

/**
 * A user kind: used as a URL path segment, table/collection suffix, Redis namespace and JWT audience,
 * so it is restricted to a safe identifier: a letter, then up to 31 letters, digits or underscores.
 */
export const USER_KIND_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;

/**
 * Parses `USER_KINDS` (comma-separated, e.g. `"User1,User2"`) into a list of kinds.
 * Whitespace around names is ignored; an empty or absent value gives {@link DEFAULT_USER_KINDS}.
 * @returns `{ ok: true, kinds }`, or `{ ok: false, problem }` naming what is wrong (bad name, duplicate).
 */
export function parseUserKinds(
  raw: string | undefined,
): { ok: true; kinds: string[] } | { ok: false; problem: string } {
  if (raw === undefined || raw.trim() === "") return { ok: true, kinds: [...DEFAULT_USER_KINDS] };
  const kinds = raw.split(",").map((k) => k.trim());
  const bad = kinds.filter((k) => !USER_KIND_PATTERN.test(k));
  if (bad.length > 0) {
    return {
      ok: false,
      problem: `each kind must match ${USER_KIND_PATTERN} (letter first, ≤32 chars); bad: ${bad.map((b) => JSON.stringify(b)).join(", ")}`,
    };
  }
  const lower = kinds.map((k) => k.toLowerCase());
  const dup = kinds.filter((_, i) => lower.indexOf(lower[i] as string) !== i);
  if (dup.length > 0) return { ok: false, problem: `duplicate kinds (case-insensitive): ${dup.join(", ")}` };
  // Reserved first path segments of the API would collide with a kind's routes.
  const reserved = ["health", "metrics", "docs", "redoc", "scalar", "openapi", "jobs", "_dev", "well-known"];
  const clash = kinds.filter((k) => reserved.includes(k.toLowerCase()));
  if (clash.length > 0) return { ok: false, problem: `reserved names cannot be kinds: ${clash.join(", ")}` };
  return { ok: true, kinds };
}
