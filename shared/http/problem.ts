import { AuthError, type ErrorCode } from "../errors";

/** Media type of RFC 9457 problem details. */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/**
 * An RFC 9457 problem details body with this service's extension members:
 * `code` (stable snake_case identifier, the thing clients should switch on) and `request_id`.
 */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  request_id?: string;
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** Builds the problem body for an error code (the `type` is a URN naming the code). */
export function problemBody(
  status: number,
  code: ErrorCode,
  detail: string,
  requestId: string | undefined,
  extensions: Record<string, unknown> = {},
): ProblemBody {
  return {
    type: `urn:problem-type:auth:${code}`,
    title: TITLES[status] ?? "Error",
    status,
    detail,
    code,
    ...(requestId ? { request_id: requestId } : {}),
    ...extensions,
  };
}

/** Serialises an {@link AuthError} into a problem+json `Response`, including its headers. */
export function problemResponse(err: AuthError, requestId: string | undefined): Response {
  const body = problemBody(err.status, err.code, err.message, requestId, err.extensions);
  return new Response(JSON.stringify(body), {
    status: err.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, ...err.headers },
  });
}

/** Shorthand errors used across functions, one per stable code. */
export const problems = {
  notFound: () => new AuthError("not_found"),
  payloadTooLarge: (limitBytes: number) =>
    new AuthError("payload_too_large", { detail: `Request body exceeds ${limitBytes} bytes` }),
  malformedBody: (cause?: unknown) => new AuthError("malformed_body", { cause }),
  unsupportedMediaType: (expected: string) =>
    new AuthError("unsupported_media_type", { detail: `Expected a ${expected} request body` }),
  unauthorized: (detail?: string) => new AuthError("unauthorized", detail === undefined ? {} : { detail }),
  dependencyUnavailable: (service: string, cause?: unknown) =>
    new AuthError("service_unavailable", {
      detail: `A required service is unavailable (${service})`,
      cause,
      retryAfterSeconds: 5,
    }),
};
