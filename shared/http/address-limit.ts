import { type RateLimitPolicyName, rateLimitPolicies } from "../config/rate-limits";
import { errorFields } from "../observability/logger";
import type { FunctionContext } from "./context";
import { problems } from "./problem";
import { type AddressLimit, createAddressLimit, enforcingMiddleware } from "./rate-limit";

/**
 * The per-address limit `policyName` (`shared/config/rate-limits.ts`, with its `RATE_LIMITS`
 * override) of a function that is not an account function — `/health`, the operator endpoints,
 * the rejected-signature budget of `/jobs/*` — built on first use from `ctx` (the Upstash client is
 * connected only when a request arrives) and without the global per-address limit
 * ({@link createAddressLimit}). When the limiter cannot even be built (Redis not configured), the
 * request is treated as a failed check: let through with a warning, or 503 when the policy fails
 * closed — never a 500.
 */
export function addressLimit(ctx: FunctionContext, policyName: RateLimitPolicyName): AddressLimit {
  const policy = rateLimitPolicies(ctx.config.rateLimits).routes[policyName];
  let built: AddressLimit | undefined;
  const limit = (): AddressLimit =>
    (built ??= createAddressLimit({
      redis: ctx.redis(),
      prefix: "",
      policyName,
      policy,
      timeoutMs: ctx.config.redis.timeoutMs,
    }));
  const enforce: AddressLimit["enforce"] = async (c) => {
    let resolved: AddressLimit;
    try {
      resolved = limit();
    } catch (cause) {
      c.get("log").warn(`rate limit ${policyName} unavailable`, {
        event: "rate_limit_unavailable",
        service: "redis",
        outcome: policy.failClosed ? "refused" : "allowed",
        ...errorFields(cause),
      });
      if (policy.failClosed) throw problems.dependencyUnavailable("rate limiter", cause);
      return {};
    }
    return resolved.enforce(c);
  };
  return { enforce, middleware: () => enforcingMiddleware(enforce) };
}
