/**
 * The client's network address as the platform reports it, never as the client claims it.
 *
 * Sources, in order: AWS Lambda function URL / API Gateway HTTP API (`requestContext.http.sourceIp`),
 * API Gateway REST (`requestContext.identity.sourceIp`), the Node socket of the local server
 * (`incoming.socket.remoteAddress`). `X-Forwarded-For` is consulted only when `trustedProxyCount > 0`,
 * and then read from the right: with N trusted proxies in front, the client is the N-th entry from
 * the right (each proxy appends the address it saw). (OWASP: don't trust client-supplied XFF.)
 *
 * @param env the Hono `c.env` of the runtime (Lambda event bindings or Node bindings).
 * @returns an IP address string, or `"unknown"` when the platform gives none.
 */
export function clientAddress(
  env: unknown,
  forwardedFor: string | undefined,
  trustedProxyCount: number,
): string {
  if (trustedProxyCount > 0 && forwardedFor) {
    const hops = forwardedFor
      .split(",")
      .map((h) => h.trim())
      .filter((h) => h !== "");
    const candidate = hops[hops.length - trustedProxyCount];
    if (candidate && isIpLiteral(candidate)) return normalizeIp(candidate);
  }
  const e = (env ?? {}) as {
    requestContext?: { http?: { sourceIp?: string }; identity?: { sourceIp?: string } };
    event?: { requestContext?: { http?: { sourceIp?: string }; identity?: { sourceIp?: string } } };
    incoming?: { socket?: { remoteAddress?: string } };
  };
  const ctx = e.requestContext ?? e.event?.requestContext;
  const ip = ctx?.http?.sourceIp ?? ctx?.identity?.sourceIp ?? e.incoming?.socket?.remoteAddress;
  return ip ? normalizeIp(ip) : "unknown";
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Strict IPv4 dotted quad, or IPv6 (optionally bracketed) as the WHATWG URL parser accepts it. No ports. */
export function isIpLiteral(s: string): boolean {
  if (IPV4.test(s)) return true;
  const bare = s.replace(/^\[(.*)\]$/, "$1");
  if (!bare.includes(":") || !/^[0-9a-fA-F:.]+$/.test(bare)) return false;
  try {
    return new URL(`http://[${bare}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

/** Strips brackets, zone ids and the IPv4-mapped IPv6 prefix (`::ffff:1.2.3.4` → `1.2.3.4`). */
export function normalizeIp(ip: string): string {
  const bare = ip.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  return (mapped?.[1] ?? bare).toLowerCase();
}

/**
 * The key a per-address rate limit counts under: the address itself for IPv4, the /64 prefix for
 * IPv6 (one subscriber usually holds a whole /64, so per-address limits would be trivially evaded).
 */
export function rateLimitSubject(ip: string): string {
  if (!ip.includes(":")) return ip;
  const [head, tail = ""] = ip.split("::");
  const left = (head ?? "").split(":").filter((g) => g !== "");
  const right = tail.split(":").filter((g) => g !== "");
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}

/**
 * The binding of a refresh-token presenter (`refreshSession`'s `clientBinding`): its rate-limit
 * subject (IPv4 address, IPv6 /64, as the platform or a trusted proxy reported it) and its
 * `User-Agent`, joined. A client's concurrent retries share it; a thief elsewhere does not, unless
 * it sits in the same /64 AND sends the same User-Agent. Not a secret and not an authenticator: it
 * only decides whether a used refresh token's reuse grace applies (RFC 9700 §4.14.2).
 * @param userAgent the `User-Agent` header, absent → empty; only its first 512 characters count.
 */
export function clientBindingOf(address: string, userAgent: string | undefined): string {
  return `${rateLimitSubject(address)}\n${(userAgent ?? "").slice(0, 512)}`;
}
