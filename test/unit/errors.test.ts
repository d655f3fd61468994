import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AuthError, bearerChallenge, ERRORS, isErrorCode } from "../../shared/errors";
import { sourceFiles } from "../helpers/source-files";

const root = join(import.meta.dirname, "../..");

describe("the error catalogue", () => {
  it("gives every code an error status, a detail, and every 401 a bearer challenge", () => {
    for (const [code, entry] of Object.entries(ERRORS)) {
      expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(entry.status, code).toBeGreaterThanOrEqual(400);
      expect(entry.status, code).toBeLessThan(600);
      expect(entry.detail.length, code).toBeGreaterThan(5);
      if (entry.status === 401 && code !== "invalid_signature") expect("challenge" in entry, code).toBe(true);
    }
  });

  it("builds errors from the catalogue: status, default detail, WWW-Authenticate and Retry-After", () => {
    const revoked = new AuthError("token_revoked");
    expect(revoked.status).toBe(401);
    expect(revoked.message).toBe(ERRORS.token_revoked.detail);
    expect(revoked.headers["WWW-Authenticate"]).toBe(
      'Bearer error="invalid_token", error_description="revoked"',
    );
    const ops = new AuthError("unauthorized", { realm: "operations", detail: "x" });
    expect(ops.headers["WWW-Authenticate"]).toBe('Bearer realm="operations"');
    expect(ops.message).toBe("x");
    expect(new AuthError("rate_limited", { retryAfterSeconds: 7 }).headers["Retry-After"]).toBe("7");
    expect(bearerChallenge({})).toBe("Bearer");
  });

  it("is the only source of codes: every construction site in functions/ shared/ infra/ names a catalogue code", () => {
    const sites: { file: string; code: string }[] = [];
    const dynamic: string[] = [];
    for (const file of ["functions", "shared", "infra"].flatMap(sourceFiles)) {
      if (file === "shared/errors.ts") continue;
      const text = readFileSync(join(root, file), "utf8");
      for (const m of text.matchAll(/new AuthError\(\s*([^,)\s]+)/g)) {
        const arg = m[1] ?? "";
        const literal = /^"([a-z_]+)"$/.exec(arg);
        if (literal?.[1]) sites.push({ file, code: literal[1] });
        else dynamic.push(`${file}: ${arg}`);
      }
      // Problem bodies built without an AuthError (the delivery consumer's answers to QStash).
      for (const m of text.matchAll(/\bproblem\(\s*"([a-z_]+)"/g)) sites.push({ file, code: m[1] ?? "" });
    }
    expect(sites.length).toBeGreaterThan(30);
    expect(sites.filter((s) => !isErrorCode(s.code))).toEqual([]);
    // A code chosen at run time could escape the catalogue: none is.
    expect(dynamic).toEqual([]);
  });
});
