import type { MiddlewareHandler } from "hono";
import { AuthError } from "../errors";

/** Content types a cross-site page can POST without a CORS preflight (HTML forms, `text/plain`). */
const SIMPLE_BODY = /^\s*(application\/x-www-form-urlencoded|multipart\/form-data|text\/plain)\b/i;

/** 403 for a form post that came from another site. */
export const crossSiteRequest = () => new AuthError("cross_site_request");

/**
 * Refuses cross-site form posts (CSRF) to a route that server-rendered pages post to, in the
 * spirit of Hono's `csrf()` but answering a problem with a stable code (OWASP CSRF Prevention
 * Cheat Sheet: Fetch Metadata, then the Origin header).
 *
 * A POST whose body type a foreign page could send without a preflight (form-urlencoded,
 * multipart, text/plain, or no Content-Type) passes only when:
 * - `Sec-Fetch-Site` is `same-origin` (every current browser sends it; it is the reliable signal
 *   here, because our pages use `Referrer-Policy: no-referrer`, which makes browsers send
 *   `Origin: null` even on same-origin form posts), or
 * - there is no `Sec-Fetch-Site` and `Origin` is exactly `allowedOrigin`.
 * Everything else is refused with 403 `cross_site_request`, including a form post with neither
 * header (clients without a browser can send JSON, which a foreign page cannot without CORS).
 * JSON bodies and safe methods pass untouched.
 *
 * @param allowedOrigin the public origin of the pages, `new URL(appUrl).origin`.
 * @throws Error at build time when `allowedOrigin` is not an http(s) origin.
 */
export function sameOriginForms(allowedOrigin: string): MiddlewareHandler {
  let origin: string;
  try {
    origin = new URL(allowedOrigin).origin;
  } catch {
    throw new Error(`sameOriginForms: ${JSON.stringify(allowedOrigin)} is not an origin`);
  }
  if (origin !== allowedOrigin.replace(/\/+$/, "") || !/^https?:/.test(origin)) {
    throw new Error(`sameOriginForms: ${JSON.stringify(allowedOrigin)} is not an http(s) origin`);
  }
  return async function sameOriginFormsCheck(c, next) {
    const method = c.req.method;
    const type = c.req.header("content-type") ?? "text/plain";
    if (method !== "GET" && method !== "HEAD" && method !== "OPTIONS" && SIMPLE_BODY.test(type)) {
      const site = c.req.header("sec-fetch-site");
      const allowed = site !== undefined ? site === "same-origin" : c.req.header("origin") === origin;
      if (!allowed) throw crossSiteRequest();
    }
    await next();
  };
}
