import { escapeHtml, renderPage } from "./pages";

/** What the reset form page needs. */
export interface ResetFormOptions {
  appName: string;
  /** Configured public base URL (`APP_URL`): the form posts there, never to a Host-derived URL. */
  appUrl: string;
  kind: string;
  /** The link token; goes into a hidden field, never into the form's action URL. */
  token: string;
  /** Minimum password length in characters (the browser checks it before posting; the server again). */
  minLength: number;
  /**
   * The byte cap (`PASSWORD_MAX_BYTES`, bytes of UTF-8). The field's `maxlength` (UTF-16 code
   * units, never more than the bytes) is set to it: an upper bound the browser enforces; the
   * server checks the bytes (422 `password_too_long`).
   */
  maxBytes: number;
  /** Why the previous attempt was refused (e.g. weak-password reasons), shown above the form. */
  problems?: string[];
}

/**
 * The password reset form (OWASP Forgot Password Cheat Sheet): a same-origin POST to
 * `{appUrl}/{kind}/reset_password` with the token in a hidden field, so it never lands in the
 * action URL, history or logs of the post; no scripts or third-party resources (the page CSP
 * allows neither). Serve with `pageHeaders()` (`Referrer-Policy: no-referrer`, `no-store`).
 */
export function renderResetForm(opts: ResetFormOptions): string {
  const action = `${opts.appUrl}/${encodeURIComponent(opts.kind)}/reset_password`;
  const problems = (opts.problems ?? []).map((p) => `<li>${escapeHtml(p)}</li>`).join("");
  const body = `${problems ? `<ul role="alert">${problems}</ul>` : ""}
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="token" value="${escapeHtml(opts.token)}">
<label for="password">New password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="${opts.minLength}" maxlength="${opts.maxBytes}">
<button type="submit">Set new password</button>
</form>`;
  return renderPage({
    appName: opts.appName,
    title: "Choose a new password",
    message: `Choose a new password of at least ${opts.minLength} characters. Every device signed in to your account will be signed out.`,
    bodyHtml: body,
  });
}
