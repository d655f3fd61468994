/** Something that answers HTTP: the local server over a socket (`url`), or an app in process (`fetch`). */
export type Target = { fetch(request: Request): Promise<Response> } | { url: string };

/** Sends `init` to `path` (or to an absolute URL the target issued, e.g. a mailed link) on `target`. */
export function send(target: Target, pathOrUrl: string, init: RequestInit = {}): Promise<Response> {
  const absolute = /^https?:\/\//.test(pathOrUrl);
  if ("url" in target) return fetch(absolute ? pathOrUrl : `${target.url}${pathOrUrl}`, init);
  return target.fetch(new Request(absolute ? pathOrUrl : `http://localhost${pathOrUrl}`, init));
}

/** Options of one {@link apiClient} request. */
export interface ApiRequestInit {
  /** A JSON body (sets `Content-Type: application/json`). */
  json?: unknown;
  /** A form body (sets `Content-Type: application/x-www-form-urlencoded`). */
  form?: Record<string, string>;
  /** A body sent as it is (set its Content-Type in `headers`). */
  raw?: string;
  /** An access token for `Authorization: Bearer`. */
  token?: string;
  headers?: Record<string, string>;
}

/**
 * A small HTTP client for the API under test, over a socket (`baseUrl` or `{ url }`) or in process
 * (`{ fetch }`). Every request is aborted after 15 s, so a hang fails the test instead of stalling
 * it. `json` is the parsed body, `{}` when the body is not JSON.
 */
export function apiClient(target: string | Target) {
  const to: Target = typeof target === "string" ? { url: target } : target;
  const request = async (method: string, path: string, init: ApiRequestInit = {}) => {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    let body = init.raw;
    if (init.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(init.json);
    } else if (init.form) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(init.form).toString();
    }
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    const res = await send(to, path, { method, headers, body, signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON: an HTML page, Prometheus text or an empty answer
    }
    return { status: res.status, headers: res.headers, text, json };
  };
  return { request };
}
