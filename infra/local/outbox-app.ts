import { Hono, type MiddlewareHandler } from "hono";
import { securityHeaders } from "../../shared/http/app";
import type { CapturedEmail, CapturedSms, Outbox } from "./outbox";

/**
 * Escapes text for HTML element content and double- or single-quoted attribute values (OWASP XSS
 * Prevention Cheat Sheet, rules 1 and 2).
 */
export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

// Scripts are blocked on the page and, because a srcdoc frame inherits its parent's policy, inside
// every rendered email too; the sandbox attribute blocks them a second time.
const PAGE_CSP =
  "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const STYLE = `body{font:15px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}
article{border:1px solid #ccc;border-radius:6px;padding:.75rem 1rem;margin:0 0 1rem}
h3{margin:.2rem 0}.meta{color:#555;font-size:13px;margin:.2rem 0}
iframe{width:100%;height:320px;border:1px solid #ddd;background:#fff}
ul.links{margin:.4rem 0;padding-left:1.2rem}a{word-break:break-all}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem;margin:.4rem 0}`;

function renderEmail(email: CapturedEmail): string {
  const links = email.links
    .map(
      (href) =>
        `<li><a class="email-link" data-email-id="${escapeHtml(email.id)}" rel="noreferrer" href="${escapeHtml(href)}">${escapeHtml(href)}</a></li>`,
    )
    .join("");
  return `<article class="email" id="email-${escapeHtml(email.id)}" data-email-id="${escapeHtml(email.id)}">
<h3 class="subject">${escapeHtml(email.subject)}</h3>
<p class="meta">To <span class="to">${escapeHtml(email.to)}</span> · from ${escapeHtml(email.from)} · <time datetime="${escapeHtml(email.createdAt)}">${escapeHtml(email.createdAt)}</time></p>
${links ? `<ul class="links">${links}</ul>` : `<p class="meta">No links.</p>`}
<iframe sandbox="" referrerpolicy="no-referrer" title="${escapeHtml(`Email: ${email.subject}`)}" srcdoc="${escapeHtml(email.html)}"></iframe>
<details><summary>Plain text</summary><pre class="text">${escapeHtml(email.text)}</pre></details>
</article>`;
}

function renderSms(sms: CapturedSms): string {
  return `<article class="sms" id="sms-${escapeHtml(sms.id)}" data-sms-id="${escapeHtml(sms.id)}">
<p class="meta">To <span class="to">${escapeHtml(sms.to)}</span> · from ${escapeHtml(sms.from)} · <time datetime="${escapeHtml(sms.createdAt)}">${escapeHtml(sms.createdAt)}</time></p>
<pre class="sms-body">${escapeHtml(sms.body)}</pre>
</article>`;
}

/** Renders the dev outbox page: emails then SMS, newest first, everything escaped. */
export function renderOutboxPage(outbox: Outbox): string {
  const emails = outbox.emails();
  const sms = outbox.sms();
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>Dev outbox</title><style>${STYLE}</style></head>
<body><h1>Dev outbox</h1>
<p class="meta">Local runtime only: mail and SMS the app sent to the capture endpoints. ${emails.length} email(s), ${sms.length} SMS. <a href="outbox">Refresh</a> · <a href="outbox.json">JSON</a></p>
<section id="emails"><h2>Emails</h2>${emails.map(renderEmail).join("\n") || "<p>No email yet.</p>"}</section>
<section id="sms"><h2>SMS</h2>${sms.map(renderSms).join("\n") || "<p>No SMS yet.</p>"}</section>
</body></html>`;
}

const IPV4_LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * Whether a `Host` header names this machine's loopback interface: `localhost` or a `*.localhost`
 * name (RFC 6761 §6.3: always loopback), an IPv4 address in 127.0.0.0/8, or `[::1]`; any port.
 * Anything else — another name, a name that merely starts with `localhost` or `127.` (e.g.
 * `localhost.attacker.example`, `127.0.0.1.nip.io`), an unparsable value, or no header — is not.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  let hostname: string;
  try {
    const url = new URL(`http://${host}/`);
    if (url.host !== host.toLowerCase() && url.host !== host.toLowerCase().replace(/:80$/, "")) return false;
    hostname = url.hostname;
  } catch {
    return false;
  }
  return (
    hostname === "localhost" ||
    hostname.endsWith(".localhost") ||
    IPV4_LOOPBACK.test(hostname) ||
    hostname === "[::1]"
  );
}

/**
 * Answers `421 Misdirected Request` unless the request's `Host` is loopback ({@link isLoopbackHost}).
 * DNS rebinding defence (issue #14 I7): a web page on `attacker.example` that re-points its name to
 * 127.0.0.1 can make the developer's browser call this server same-origin, but the browser still
 * sends `Host: attacker.example`, so the captured verification and reset links stay unreadable.
 */
export const loopbackHostOnly: MiddlewareHandler = async function loopbackHostOnly(c, next) {
  if (!isLoopbackHost(c.req.header("host"))) {
    c.header("Cache-Control", "no-store");
    return c.text("The dev outbox answers only localhost / loopback Host headers.", 421);
  }
  await next();
  return undefined;
};

/**
 * Creates the dev outbox app, mounted by the local runtime only (never deployed):
 * - `GET /_dev/outbox`: an HTML page listing captured emails (subject, recipient, time, the HTML
 *   rendered in a sandboxed `<iframe srcdoc>`, and each link as an ordinary top-level
 *   `<a class="email-link" href>` a person or Playwright can click) and SMS bodies as text.
 * - `GET /_dev/outbox.json`: `{"emails":[{id,to,from,subject,html,text,links,created_at}],
 *   "sms":[{id,to,from,body,created_at}]}`, newest first, ISO 8601 timestamps.
 * Both answer `Cache-Control: no-store`, and only to a loopback `Host` ({@link loopbackHostOnly});
 * any other Host gets 421.
 */
export function createOutboxApp(outbox: Outbox): Hono {
  const app = new Hono();
  app.use("/_dev/*", securityHeaders(), loopbackHostOnly);
  app.get("/_dev/outbox", (c) => {
    c.header("Cache-Control", "no-store");
    c.header("Content-Security-Policy", PAGE_CSP);
    c.header("X-Content-Type-Options", "nosniff");
    return c.html(renderOutboxPage(outbox));
  });
  app.get("/_dev/outbox.json", (c) => {
    c.header("Cache-Control", "no-store");
    return c.json({
      emails: outbox.emails().map((e) => ({
        id: e.id,
        to: e.to,
        from: e.from,
        subject: e.subject,
        html: e.html,
        text: e.text,
        links: e.links,
        created_at: e.createdAt,
      })),
      sms: outbox
        .sms()
        .map((s) => ({ id: s.id, to: s.to, from: s.from, body: s.body, created_at: s.createdAt })),
    });
  });
  return app;
}
