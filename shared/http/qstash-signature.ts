/**
 * The one check every `auth: "signature"` function runs first (the notification deliveries and
 * the scheduled jobs): `Upstash-Signature` verified over the raw body against the configured public
 * URL of the function, before anything else is read. A refusal is logged (reason only), audited as
 * `signature_rejected` and answered 401 `invalid_signature`, so nothing of the request is acted on.
 */
import { ERRORS } from "../errors";
import type { AuditRecorder } from "../observability/audit";
import type { Logger } from "../observability/logger";
import type { SignatureVerifier } from "../ports/notifications";
import { problemBody } from "./problem";

/** What {@link rejectUnlessSigned} works with. */
export interface SignatureCheckDeps {
  verifier: SignatureVerifier;
  /** Request-bound logger. */
  log: Logger;
  /** Records the rejection as the audit event `signature_rejected` (never throws). */
  audit?: AuditRecorder;
}

/** One signed request as received. */
export interface SignedRequest {
  /** `Upstash-Signature` header; `undefined` when absent. */
  signature: string | undefined;
  /** The body exactly as received (`await c.req.text()`), never re-serialised. */
  rawBody: string;
  /** The configured public URL of this function (`${APP_URL}/jobs/email`), never `c.req.url`. */
  url: string;
  /** The caller's address as the platform reports it (audited truncated). */
  clientAddress?: string;
  /** The request id, for the audit event. */
  requestId?: string;
}

/** A refusal to answer: status 401 and an RFC 9457 problem body (without `request_id`). */
export interface SignatureRejection {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Verifies a QStash delivery (protocols.md §2: HS256 JWT over the body's SHA-256, `sub` = the URL,
 * `exp`/`nbf` enforced, current then next signing key).
 * @returns `null` when the signature is valid; otherwise the 401 `invalid_signature` rejection,
 *   already logged (`event: "delivery_rejected"`, `reason: "missing" | "invalid"`) and audited
 *   (`code: "missing_signature" | "invalid_signature"`).
 */
export async function rejectUnlessSigned(
  deps: SignatureCheckDeps,
  req: SignedRequest,
): Promise<SignatureRejection | null> {
  const verified = await deps.verifier.verify({
    signature: req.signature,
    rawBody: req.rawBody,
    url: req.url,
  });
  if (verified) return null;
  const reason = req.signature ? "invalid" : "missing";
  deps.log.warn("delivery signature rejected", {
    event: "delivery_rejected",
    code: "invalid_signature",
    reason,
  });
  // Awaited (the recorder bounds its wait and never throws): on Lambda, unawaited work may never run.
  await deps.audit?.record({
    kind: null,
    action: "signature_rejected",
    outcome: "failure",
    actor: null,
    clientAddress: req.clientAddress ?? null,
    code: `${reason}_signature`,
    requestId: req.requestId ?? null,
  });
  const { status } = ERRORS.invalid_signature;
  return {
    status,
    body: problemBody(status, "invalid_signature", "A valid Upstash-Signature is required", undefined),
  };
}
