import { describe, expect, it } from "vitest";
import { clientAddress, isIpLiteral, normalizeIp, rateLimitSubject } from "../../shared/http/client-address";

/** The `c.env` shapes each runtime hands to Hono. */
const lambdaFunctionUrl = (ip: string) => ({
  event: { requestContext: { http: { method: "POST", sourceIp: ip } } },
  requestContext: { http: { method: "POST", sourceIp: ip } },
});
const apiGatewayV2 = (ip: string) => ({ requestContext: { http: { sourceIp: ip } } });
const apiGatewayRestV1 = (ip: string) => ({ event: { requestContext: { identity: { sourceIp: ip } } } });
const nodeSocket = (ip: string) => ({ incoming: { socket: { remoteAddress: ip } } });

describe("clientAddress: the address the platform reports", () => {
  it.each([
    ["Lambda function URL", lambdaFunctionUrl("203.0.113.5")],
    ["API Gateway HTTP API (v2)", apiGatewayV2("203.0.113.5")],
    ["API Gateway REST API (v1)", apiGatewayRestV1("203.0.113.5")],
    ["the local Node server's socket", nodeSocket("203.0.113.5")],
  ])("reads %s", (_, env) => {
    expect(clientAddress(env, undefined, 0)).toBe("203.0.113.5");
  });

  it("answers 'unknown' when the platform reports nothing", () => {
    expect(clientAddress(undefined, undefined, 0)).toBe("unknown");
    expect(clientAddress({}, undefined, 0)).toBe("unknown");
  });

  it("ignores X-Forwarded-For entirely without trusted proxies (a client cannot pick its address)", () => {
    expect(clientAddress(nodeSocket("198.51.100.7"), "1.2.3.4", 0)).toBe("198.51.100.7");
    expect(clientAddress(apiGatewayV2("198.51.100.7"), "1.2.3.4, 5.6.7.8", 0)).toBe("198.51.100.7");
  });

  it("with one trusted proxy, takes the right-most XFF entry (the one the proxy appended)", () => {
    // The client sent a forged "1.2.3.4"; the proxy appended what it saw.
    expect(clientAddress(nodeSocket("10.0.0.1"), "1.2.3.4, 198.51.100.9", 1)).toBe("198.51.100.9");
    expect(clientAddress(nodeSocket("10.0.0.1"), "198.51.100.9", 1)).toBe("198.51.100.9");
  });

  it("with two trusted proxies, takes the second entry from the right", () => {
    // client → proxy A (appends client) → proxy B (appends A) → us.
    expect(clientAddress(nodeSocket("10.0.0.2"), "1.2.3.4, 198.51.100.9, 10.0.0.1", 2)).toBe("198.51.100.9");
  });

  it("falls back to the platform address when XFF has fewer entries than trusted proxies or a non-address", () => {
    expect(clientAddress(nodeSocket("10.0.0.2"), "198.51.100.9", 2)).toBe("10.0.0.2");
    expect(clientAddress(nodeSocket("10.0.0.2"), "", 1)).toBe("10.0.0.2");
    expect(clientAddress(nodeSocket("10.0.0.2"), "1.2.3.4, not-an-ip!", 1)).toBe("10.0.0.2");
  });

  it("normalises IPv4-mapped IPv6, brackets, zone ids and case", () => {
    expect(clientAddress(nodeSocket("::ffff:203.0.113.5"), undefined, 0)).toBe("203.0.113.5");
    expect(clientAddress(nodeSocket("::FFFF:203.0.113.5"), undefined, 0)).toBe("203.0.113.5");
    expect(clientAddress(nodeSocket("10.0.0.1"), "[2001:DB8::1]", 1)).toBe("2001:db8::1");
    expect(normalizeIp("fe80::1%eth0")).toBe("fe80::1");
  });
});

describe("rateLimitSubject: what a per-address limit counts under", () => {
  it("is the address itself for IPv4", () => {
    expect(rateLimitSubject("203.0.113.5")).toBe("203.0.113.5");
  });

  it("is the /64 prefix for IPv6, so one subscriber's /64 shares a limit", () => {
    const subject = rateLimitSubject("2001:db8:1:2::1");
    expect(subject).toBe("2001:db8:1:2::/64");
    for (const ip of ["2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:0db8:0001:0002:abcd::9", "2001:db8:1:2::"]) {
      expect(rateLimitSubject(ip)).toBe(subject);
    }
    expect(rateLimitSubject("2001:db8:1:3::1")).not.toBe(subject);
  });

  it("expands '::' wherever it appears before taking the prefix", () => {
    expect(rateLimitSubject("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(rateLimitSubject("::1")).toBe("0:0:0:0::/64");
    expect(rateLimitSubject("2001:db8:1::")).toBe("2001:db8:1:0::/64");
  });

  it("treats an IPv4-mapped client as IPv4 once normalised", () => {
    expect(rateLimitSubject(normalizeIp("::ffff:198.51.100.3"))).toBe("198.51.100.3");
  });
});

describe("trusted X-Forwarded-For entries must be IP literals", () => {
  it.each(["cafe", "999.1.1.1", "1.2.3.4:5678", "[::1]:80", "example.com", "1.2.3", ""])(
    "ignores %j and falls back to the platform address",
    (entry) => {
      expect(clientAddress({ incoming: { socket: { remoteAddress: "10.0.0.9" } } }, `${entry}`, 1)).toBe(
        "10.0.0.9",
      );
    },
  );

  it.each(["203.0.113.7", "2001:db8::1", "[2001:db8::2]", "::ffff:198.51.100.4"])("accepts %j", (entry) => {
    expect(isIpLiteral(entry)).toBe(true);
  });
});
