import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, errorFields, scrub } from "../../shared/observability/logger";

/** A logger writing JSON lines into an array. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, log: createLogger({ level: "debug", destination }) };
}

describe("structured logs redact by allow-list", () => {
  it("writes one JSON object per line with level, time, message and the allowed fields", () => {
    const { lines, log } = capture();
    log.child({ request_id: "r1", function: "login", cold_start: true, kind: "User1" }).info("request", {
      event: "http_request",
      status: 401,
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "info",
      msg: "request",
      request_id: "r1",
      function: "login",
      cold_start: true,
      kind: "User1",
      event: "http_request",
      status: 401,
    });
    expect(typeof lines[0]?.time).toBe("string");
  });

  it("replaces every field not on the allow-list, in a line or a child's context", () => {
    const { lines, log } = capture();
    const leaky = {
      email: "john.doe@example.com",
      password: "Tr0ub4dor&3",
      token: "eyJhbGciOiJIUzI1NiJ9.e30.abc",
      otp: "042137",
      phone: "+14155552671",
    } as unknown as Record<string, string>;
    log.child(leaky).warn("x", leaky);
    const text = JSON.stringify(lines);
    for (const value of Object.values(leaky)) expect(text).not.toContain(value);
    expect(lines[0]).toMatchObject({ email: "[REDACTED]", password: "[REDACTED]", otp: "[REDACTED]" });
  });

  it("scrubs emails, phone numbers and token-like strings from messages and error text", () => {
    const { lines, log } = capture();
    const err = new Error(
      "user john.doe@example.com with +1 415 555 2671 sent eyJhbGciOiJIUzI1NiJ9xxxxxxxxxxxx",
    );
    log.error("failed for jane@example.org code 042137", errorFields(err));
    const text = JSON.stringify(lines);
    for (const leak of [
      "john.doe@example.com",
      "jane@example.org",
      "415 555 2671",
      "042137",
      "eyJhbGciOiJIUzI1NiJ9",
    ]) {
      expect(text).not.toContain(leak);
    }
    expect(scrub("a@b.co")).toBe("[email]");
  });
});
