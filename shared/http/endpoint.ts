/**
 * The endpoint spec: one typed description per deployed function, colocated with it
 * (`functions/<name>.endpoint.ts`), that everything else reads — the manifest (`infra/functions.ts`:
 * routes, runtime, memory, timeout, secrets), the app kit (`account-function.ts`: auth, rate-limit
 * mounting order, body parsing, audit, `Cache-Control`), the rate limiter (the policy name), the
 * audit trail (the action) and the OpenAPI document (the problem codes each route can answer).
 *
 * Pure data and types: no I/O, no framework. One name stem per endpoint: the spec `name` is the
 * function file's name (kebab-case) and its PascalCase form is the deployed resource name; the
 * public paths keep the seed's spellings (`/forget_password`).
 */
import type { RateLimitPolicyName } from "../config/rate-limits";
import type { SecretName } from "../config/secrets";
import type { ErrorCode } from "../errors";
import type { AuditAction } from "../ports/audit";

/** HTTP methods the API uses. */
export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

/** One route of an endpoint: method and path (relative to `/{kind}` when the endpoint is `perKind`). */
export interface EndpointRoute {
  method: HttpMethod;
  path: string;
}

/**
 * Who may call an endpoint: anyone (`none`), a user with a bearer access token of the route's kind
 * (`bearer`), an operator with `OPS_TOKEN` (`operator`), or QStash with a valid `Upstash-Signature`
 * (`signature`).
 */
export type EndpointAuth = "none" | "bearer" | "operator" | "signature";

/** The one description of a deployed function; see the file comment. */
export interface EndpointSpec {
  /** Name stem, kebab-case, equal to the function's file name (`forget-password`). */
  name: string;
  /** Every route; under `/{kind}` for every configured kind when `perKind`. */
  routes: readonly EndpointRoute[];
  /** Routes repeat for every user kind (DESIGN.md §3). @default false */
  perKind?: boolean;
  auth: EndpointAuth;
  /** The rate-limit policy (`shared/config/rate-limits.ts`) every route of the endpoint applies. */
  rateLimit?: RateLimitPolicyName;
  /**
   * How each request is audited: the action, and which validated input field holds the email
   * that names the actor when nobody is authenticated. Absent: not audited (reads).
   */
  audit?: { action: AuditAction; emailField?: string };
  /** Problem codes the endpoint's own logic can answer, beyond those its auth, limit and body imply. */
  errors?: readonly ErrorCode[];
  /**
   * The function is the HTTP API's `$default` route: API Gateway sends it every request no route
   * matches (it has no `routes`; the local runtime answers unknown paths itself).
   */
  gatewayDefault?: true;
  /** Why the routes are left out of the public OpenAPI document (QStash callbacks, docs pages). */
  undocumented?: string;
  /** `edge` only for code that needs no Node built-in and hashes no password (DESIGN.md §2). */
  runtime: "node" | "edge";
  /** Lambda memory in MB (CPU scales with it: Argon2 wants more). */
  memoryMB: number;
  /** Lambda timeout in seconds. */
  timeoutSeconds: number;
  /** The secrets the function's code reads (least privilege). */
  secrets: readonly SecretName[];
  /** Native packages SST installs for the target architecture instead of bundling (e.g. `@node-rs/argon2`). */
  nodeInstall?: readonly string[];
  /** Files SST copies into the bundle as they are (paths from the repo root / bundle root). */
  copyFiles?: readonly { from: string; to: string }[];
}

const STEM = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/**
 * Declares an endpoint spec (identity with checks, so a literal keeps its precise type).
 * @throws Error when the name is not a kebab-case stem or a route path does not start with `/`.
 */
export function defineEndpoint<const S extends EndpointSpec>(spec: S): S {
  if (!STEM.test(spec.name))
    throw new Error(`endpoint ${JSON.stringify(spec.name)}: name must be kebab-case`);
  for (const r of spec.routes) {
    if (!r.path.startsWith("/")) throw new Error(`endpoint ${spec.name}: path ${r.path} must start with /`);
  }
  return spec;
}

/** The deployed resource name of an endpoint: its stem in PascalCase (`forget-password` → `ForgetPassword`). */
export function resourceName(stem: string): string {
  return stem
    .split("-")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}

/**
 * Account functions that hash passwords: routes per kind, native Argon2 installed by SST, memory
 * for CPU. Secrets are each spec's own (least privilege).
 */
export const PASSWORD_FUNCTION = {
  perKind: true,
  runtime: "node",
  memoryMB: 1024,
  timeoutSeconds: 10,
  nodeInstall: ["@node-rs/argon2"],
} as const;

/** Account functions that never hash a password: routes per kind, less memory, no native package. */
export const TOKEN_FUNCTION = {
  perKind: true,
  runtime: "node",
  memoryMB: 512,
  timeoutSeconds: 10,
} as const;

/** Codes any bearer-authenticated route can answer. */
const BEARER_CODES: readonly ErrorCode[] = [
  "unauthorized",
  "invalid_token",
  "token_revoked",
  "service_unavailable",
];
/** Codes a rate-limited route can answer. */
const LIMIT_CODES: readonly ErrorCode[] = ["rate_limited", "service_unavailable"];
/** Codes a route with a request body can answer. */
const BODY_CODES: readonly ErrorCode[] = [
  "malformed_body",
  "payload_too_large",
  "unsupported_media_type",
  "validation_failed",
];

/**
 * The problem codes one route of an endpoint can answer: those its auth, rate limit and request
 * shape imply, plus the endpoint's own `errors`. Sorted, without duplicates.
 * @param request what the route validates (a body and/or query parameters).
 */
export function routeProblemCodes(
  spec: Pick<EndpointSpec, "auth" | "rateLimit" | "errors">,
  request: { body: boolean; query: boolean },
): ErrorCode[] {
  const codes = new Set<ErrorCode>(spec.errors ?? []);
  if (spec.auth === "bearer") for (const c of BEARER_CODES) codes.add(c);
  if (spec.auth === "operator") codes.add("unauthorized");
  if (spec.rateLimit) for (const c of LIMIT_CODES) codes.add(c);
  if (request.body) for (const c of BODY_CODES) codes.add(c);
  if (request.query) codes.add("validation_failed");
  return [...codes].sort();
}
