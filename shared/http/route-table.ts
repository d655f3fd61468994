import { AuthError } from "../errors";

/** One route of the deployed API: method and production path, e.g. `POST /User1/login`. */
export interface ApiRoute {
  method: string;
  path: string;
}

/**
 * The methods a path answers, as an `Allow` header lists them (RFC 9110 §10.2.1): its routes'
 * methods, `HEAD` where `GET` is (Hono answers HEAD with GET's route), and `OPTIONS` when CORS is
 * on (preflights are answered for every route). `undefined` when no route has this exact path.
 */
export function allowedMethods(
  routes: readonly ApiRoute[],
  path: string,
  { cors }: { cors: boolean },
): string[] | undefined {
  const methods = [...new Set(routes.filter((r) => r.path === path).map((r) => r.method))];
  if (methods.length === 0) return undefined;
  return [...methods, ...(methods.includes("GET") ? ["HEAD"] : []), ...(cors ? ["OPTIONS"] : [])];
}

/**
 * What a request that matched no route gets, the same locally and behind API Gateway's `$default`
 * route: `405 method_not_allowed` with `Allow` for a known path asked with another method
 * (RFC 9110 §15.5.6), else `404 not_found`.
 */
export function unmatchedRouteError(
  routes: readonly ApiRoute[],
  method: string,
  path: string,
  options: { cors: boolean },
): AuthError {
  const allow = allowedMethods(routes, path, options);
  if (!allow || allow.includes(method)) return new AuthError("not_found");
  return new AuthError("method_not_allowed", {
    detail: `Use ${allow.join(", ")} on this path`,
    headers: { Allow: allow.join(", ") },
  });
}
