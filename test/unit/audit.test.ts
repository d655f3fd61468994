import { describe, expect, it } from "vitest";
import { buildManifest } from "../../infra/functions";
import { settleWithin } from "../../shared/async";
import { auditEventName, outcomeOfStatus, truncateClientAddress } from "../../shared/observability/audit";

describe("client addresses in audit events", () => {
  it("keeps only the IPv4 /24 network", () => {
    expect(truncateClientAddress("203.0.113.77")).toBe("203.0.113.0/24");
    expect(truncateClientAddress("::ffff:198.51.100.9")).toBe("198.51.100.0/24");
    expect(truncateClientAddress("127.0.0.1")).toBe("127.0.0.0/24");
  });

  it("keeps only the IPv6 /48 site prefix, however the address is written", () => {
    expect(truncateClientAddress("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1::/48");
    expect(truncateClientAddress("2001:0db8:0001:ffff::1")).toBe("2001:db8:1::/48");
    expect(truncateClientAddress("[2001:db8::7]")).toBe("2001:db8:0::/48");
    expect(truncateClientAddress("fe80::1%eth0")).toBe("fe80:0:0::/48");
    expect(truncateClientAddress("::1")).toBe("0:0:0::/48");
  });

  it("stores nothing for what is not an IP literal", () => {
    for (const bad of [
      "unknown",
      "",
      null,
      undefined,
      "300.1.1.1",
      "a.b.c.d",
      "1:2:3:4:5:6:7:8:9",
      "john@example.com",
    ]) {
      expect(truncateClientAddress(bad)).toBeNull();
    }
  });
});

describe("audit event names and outcomes", () => {
  it("names events action_outcome, and detections by their action alone", () => {
    expect(auditEventName("login", "failure")).toBe("login_failure");
    expect(auditEventName("register", "success")).toBe("register_success");
    expect(auditEventName("rate_limited", "failure")).toBe("rate_limited");
    expect(auditEventName("refresh_reuse_detected", "failure")).toBe("refresh_reuse_detected");
  });

  it("maps 2xx/3xx to success, 4xx to failure and 5xx to error", () => {
    expect([200, 201, 302, 400, 401, 429, 500, 503].map(outcomeOfStatus)).toEqual([
      "success",
      "success",
      "success",
      "failure",
      "failure",
      "failure",
      "error",
      "error",
    ]);
  });

  it("classifies every account function of the manifest: audited, or one of the known reads", async () => {
    const reads = new Set(["profile", "reset-password-form", "verify-form", "mfa-status"]);
    const manifest = await buildManifest(["User1"]);
    const audited = new Set(manifest.filter((f) => f.endpoint.audit).map((f) => f.endpoint.name));
    const accountFunctions = manifest
      .filter((f) => f.routes.some((r) => r.path.startsWith("/User1/")))
      .map((f) => f.module.replace("functions/", ""));
    expect(accountFunctions.length).toBeGreaterThan(10);
    for (const name of accountFunctions) {
      expect(reads.has(name) || audited.has(name), `${name} is audited or a read`).toBe(true);
    }
  });
});

describe("settleWithin", () => {
  it("reports whether the work settled before the bound, and never rejects", async () => {
    expect(await settleWithin(Promise.resolve(1), 1000)).toBe(true);
    expect(await settleWithin(Promise.reject(new Error("x")), 1000)).toBe(true);
    expect(await settleWithin(new Promise(() => {}), 10)).toBe(false);
  });
});
