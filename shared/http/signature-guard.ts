import type { MiddlewareHandler } from "hono";
import { AuthError } from "../errors";
import type { SignatureVerifier } from "../ports/notifications";
import { addressLimit } from "./address-limit";
import type { AppEnv } from "./app";
import type { FunctionContext } from "./context";

/** Rejected signatures are audited as one event per client network per this many seconds. */
export const REJECTED_SIGNATURE_AUDIT_WINDOW_SECONDS = 60;

/** Options of {@link requireQstashSignature}. */
export interface SignatureGuardOptions {
  /** The function's context (audit trail, Redis for the rejection budget, configuration). */
  ctx: FunctionContext;
  /** The configured public URL the signature must name (`${APP_URL}/jobs/<name>`), never `c.req.url`. */
  url: string;
  /**
   * The QStash signature verifier, built on first use by the caller (which imports the adapter).
   * A rejection (`ConfigError` when the signing keys are missing) fails the request with a 500,
   * so QStash retries until the configuration is fixed.
   */
  verifier(): Promise<SignatureVerifier>;
}

/**
 * The one gate in front of every QStash-called function (`auth: "signature"`: the email and SMS
 * deliveries and the scheduled jobs), so each inherits the same rules (DESIGN.md §7, issue #14 F11):
 *
 * 1. `Upstash-Signature` is verified over the raw body (`c.req.text()`; Hono keeps it for the
 *    handler) against `url`, in memory — no I/O — before anything else. A valid one passes: genuine
 *    deliveries are never rate limited here, however many QStash sends from its few shared
 *    addresses, because only QStash holds the signing keys. (A replay of a captured delivery also
 *    verifies, within the signature's expiry; the consumer's per-message mark answers it as a
 *    duplicate for the one Redis command a limiter would cost.)
 * 2. A missing or invalid signature is counted against the per-address policy `job_signature`
 *    (default 10 per minute, `RATE_LIMITS`); beyond it the address gets `429 rate_limited` with
 *    `Retry-After`, and nothing is written (the in-memory block cache spares even Redis).
 * 3. Within the budget it is audited as `signature_rejected`, aggregated: ONE audit event per
 *    client network (/24, /48) per minute whose `count` grows with each rejection
 *    ({@link REJECTED_SIGNATURE_AUDIT_WINDOW_SECONDS}), then answered `401 invalid_signature`.
 *    Whether the signature was missing or wrong goes to the log line only.
 *
 * @returns middleware for the signed route; the handler reads the body with `c.req.text()`.
 */
export function requireQstashSignature(options: SignatureGuardOptions): MiddlewareHandler<AppEnv> {
  const { ctx, url } = options;
  const rejections = addressLimit(ctx, "job_signature");
  return async function verifyQstashSignature(c, next) {
    const signature = c.req.header("upstash-signature");
    const rawBody = await c.req.text();
    if (await (await options.verifier()).verify({ signature, rawBody, url })) {
      await next();
      return;
    }
    const reason = signature ? "invalid" : "missing";
    c.get("log").warn("signature rejected", {
      event: "delivery_rejected",
      code: "invalid_signature",
      reason,
    });
    await rejections.enforce(c); // 429 once this address has spent its budget: nothing audited
    c.get("waitUntil")(
      ctx.audit().recordAggregated({
        kind: null,
        action: "signature_rejected",
        outcome: "failure",
        actor: null,
        clientAddress: c.get("clientAddress"),
        code: "invalid_signature",
        requestId: c.get("requestId"),
        windowSeconds: REJECTED_SIGNATURE_AUDIT_WINDOW_SECONDS,
      }),
    );
    throw new AuthError("invalid_signature", { detail: "A valid Upstash-Signature is required" });
  };
}
