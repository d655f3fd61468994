import type { Context } from "hono";

/**
 * Sets headers on the response the handler already produced (middleware, after `next()`), in
 * place. Hono's `c.header()` at that point copies the whole Response on every call, because a
 * Response from `fetch()` has immutable headers; every response of this service is built in
 * process (`c.json`, `problemResponse`, …), so its headers can be set directly, as Hono's own
 * secure-headers middleware does. The copy was the largest single cost of a session read.
 */
export function setResponseHeaders(c: Context, headers: Readonly<Record<string, string>>): void {
  const target = c.res.headers;
  for (const [name, value] of Object.entries(headers)) target.set(name, value);
}
