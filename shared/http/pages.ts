/**
 * Minimal server-rendered HTML pages (verification result, password reset form): no scripts, no
 * third-party resources, every value escaped, and a strict CSP that allows only inline styles and
 * same-origin form posts (OWASP XSS Prevention Cheat Sheet).
 */

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** The CSP of these pages: nothing but inline styles and posting forms back to this origin. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Renders a page whose `title` and `message` are text (escaped here) and `bodyHtml` is trusted markup. */
export function renderPage(opts: {
  appName: string;
  title: string;
  message: string;
  bodyHtml?: string;
}): string {
  const title = escapeHtml(opts.title);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${title} · ${escapeHtml(opts.appName)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2328}
h1{font-size:1.5rem}p{line-height:1.5}label{display:block;margin:.75rem 0 .25rem}
input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}button{margin-top:1rem;padding:.5rem 1rem;font-size:1rem}</style>
</head><body><main><h1>${title}</h1><p>${escapeHtml(opts.message)}</p>${opts.bodyHtml ?? ""}</main></body></html>`;
}

/** Headers for an HTML page response. */
export function pageHeaders(): Record<string, string> {
  return {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": PAGE_CSP,
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
  };
}

/** Whether the client asked for JSON rather than a page (`Accept: application/json`). */
export function wantsJson(accept: string | undefined): boolean {
  return /application\/(problem\+)?json/i.test(accept ?? "") && !/text\/html/i.test(accept ?? "");
}
