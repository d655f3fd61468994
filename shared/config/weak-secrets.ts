/** Well-known placeholder and default secrets that must never reach production. */
const WEAK_SECRETS = new Set(
  [
    "secret",
    "changeme",
    "change-me",
    "password",
    "your-secret-key",
    "your_secret_key",
    "supersecret",
    "jwt-secret",
    "replace-me",
    "development",
    "test",
  ].map((s) => s.toLowerCase()),
);

/** Length of a string in UTF-8 bytes (secrets are measured in bytes, not characters). */
export const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

/**
 * Whether a secret looks weak: shorter than `minBytes` UTF-8 bytes, a well-known placeholder
 * (`changeme`, `your-secret-key`, …), or made of fewer than 10 distinct characters (`aaaa…`, `0101…`).
 * A heuristic for refusing obvious mistakes in production, not a strength estimate.
 */
export function isWeakSecret(value: string, minBytes: number): boolean {
  if (utf8Length(value) < minBytes) return true;
  if (WEAK_SECRETS.has(value.toLowerCase())) return true;
  if (/change.?me|example|placeholder|dev.?only|insecure|secret.?key|your.?secret/i.test(value)) return true;
  return new Set(value).size < 10; // e.g. "aaaaaaaa…" or "0101…"
}
