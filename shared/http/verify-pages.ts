import { escapeHtml, renderPage } from "./pages";

/** What the email-verification confirmation page needs. */
export interface VerifyConfirmationOptions {
  appName: string;
  /** Configured public base URL (`APP_URL`): the form posts there, never to a Host-derived URL. */
  appUrl: string;
  kind: string;
  /** The link token; goes into a hidden field, never into the form's action URL. */
  token: string;
}

/**
 * The page the emailed verification link opens (`GET /{kind}/verify?token=`): it verifies nothing
 * by itself; its one button POSTs the token to `{appUrl}/{kind}/verify` (same-origin form, token in
 * a hidden field). Link scanners and mail-gateway pre-fetchers send GET or HEAD and never press
 * buttons, so they cannot verify an address nobody clicked (security finding F12; OWASP CSRF
 * Prevention Cheat Sheet: state changes only on POST). No scripts or third-party resources (the
 * page CSP allows neither). Serve with `pageHeaders()` (`Referrer-Policy: no-referrer`, `no-store`).
 */
export function renderVerifyConfirmation(opts: VerifyConfirmationOptions): string {
  const action = `${opts.appUrl}/${encodeURIComponent(opts.kind)}/verify`;
  const body = `<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="token" value="${escapeHtml(opts.token)}">
<button type="submit">Verify my email address</button>
</form>`;
  return renderPage({
    appName: opts.appName,
    title: "Confirm your email address",
    message: "Press the button to confirm that this email address is yours and finish creating your account.",
    bodyHtml: body,
  });
}
