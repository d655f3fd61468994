import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD_MAX_BYTES_DEFAULT } from "../../shared/config/password";
import { parseConfig } from "../../shared/config/schema";
import { PasswordSchema } from "../../shared/http/account-schemas";
import { login, newUser, PASSWORD, signUpVerified } from "../fixtures/accounts";
import { startTestApp, type TestApp } from "../fixtures/context";
import { apiClient } from "../helpers/api-client";
import { GENEROUS_RATE_LIMITS, testEnv } from "../helpers/env";

/**
 * Issue #14 item 10: one password limit, stated once. The limit is `PASSWORD_MAX_BYTES` bytes of
 * UTF-8; every route that takes a password answers a longer one with 422 `password_too_long`
 * (never `weak_password` or a schema error), and the OpenAPI document advertises the configured
 * cap, not a character count of its own. The app here runs with a non-default cap (300).
 */
const MAX = 300;
let app: TestApp;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMITS: GENEROUS_RATE_LIMITS, PASSWORD_MAX_BYTES: String(MAX) });
  api = apiClient(app);
});
afterAll(async () => {
  await app?.stop();
});

/** A strong password of exactly `bytes` UTF-8 bytes, each "é" two bytes. */
const strongOf = (bytes: number) => {
  const base = "Tr0ub4dor&3-horse-Battery-";
  return base + "é".repeat(Math.floor((bytes - base.length) / 2)) + "x".repeat((bytes - base.length) % 2);
};
const tooLong = strongOf(MAX + 1);
const fits = strongOf(MAX);

/** Every password-bearing field of the document, wherever it is. */
function passwordFields(node: unknown, found: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(node)) for (const item of node) passwordFields(item, found);
  else if (node !== null && typeof node === "object") {
    const record = node as Record<string, unknown>;
    if (record.format === "password") found.push(record);
    for (const value of Object.values(record)) passwordFields(value, found);
  }
  return found;
}

const expectTooLong = (res: { status: number; json: Record<string, unknown> }) => {
  expect(res.status).toBe(422);
  expect(res.json.code).toBe("password_too_long");
  expect(res.json.max_bytes).toBe(MAX);
};

describe("the password limit", () => {
  it("has one default, the configuration's, in the request schemas", () => {
    expect(parseConfig(testEnv()).password.maxBytes).toBe(PASSWORD_MAX_BYTES_DEFAULT);
    expect(PasswordSchema.safeParse("x".repeat(10_000)).success).toBe(true); // no character cap of its own
  });

  it("is advertised in bytes of UTF-8 at the configured value on every password field of the OpenAPI document", async () => {
    const fields = passwordFields(await app.context.apiDocument());
    // register, login (form and JSON), delete, reset, change (current and new).
    expect(fields.length).toBeGreaterThanOrEqual(6);
    for (const field of fields) {
      expect(field.maxLength).toBe(MAX);
      expect(field.description).toMatch(new RegExp(`${MAX} bytes of UTF-8`));
      expect(field.description).toMatch(/password_too_long/);
    }
    expect(JSON.stringify(await app.context.apiDocument())).not.toMatch(/"maxLength":1024/);
  });

  it("answers a password one byte over the cap with password_too_long on register, and accepts one at the cap", async () => {
    expect(new TextEncoder().encode(tooLong)).toHaveLength(MAX + 1);
    expectTooLong(await api.request("POST", "/User1/create", { json: newUser({ password: tooLong }) }));
    const user = newUser({ password: fits });
    expect((await api.request("POST", "/User1/create", { json: user })).status).toBe(201);
  });

  it("answers it with password_too_long on login, change, delete and reset", async () => {
    const user = await signUpVerified(app, "User1");
    const { access_token: token } = await login(app, "User1", user);
    expectTooLong(
      await api.request("POST", "/User1/login", { form: { username: user.email, password: tooLong } }),
    );
    expectTooLong(
      await api.request("POST", "/User1/change_password", {
        token,
        json: { current_password: PASSWORD, new_password: tooLong },
      }),
    );
    expectTooLong(
      await api.request("POST", "/User1/change_password", {
        token,
        json: { current_password: tooLong, new_password: fits },
      }),
    );
    expectTooLong(await api.request("DELETE", "/User1/delete", { token, json: { password: tooLong } }));

    expect(
      (await api.request("POST", "/User1/forget_password", { json: { email: user.email } })).status,
    ).toBe(200);
    const mail = await app.waitForEmail(user.email, (e) =>
      e.links.some((l) => l.includes("reset_password_form")),
    );
    const resetToken = new URL(
      mail.links.find((l) => l.includes("reset_password_form")) as string,
    ).searchParams.get("token") as string;
    // The reset page's field states the same cap (no character count of its own).
    const form = await api.request("GET", `/User1/reset_password_form?token=${resetToken}`);
    expect(form.text).toContain(`maxlength="${MAX}"`);
    expectTooLong(
      await api.request("POST", "/User1/reset_password", { json: { token: resetToken, password: tooLong } }),
    );
    // The refusal did not use up the link.
    const reset = await api.request("POST", "/User1/reset_password", {
      json: { token: resetToken, password: fits },
    });
    expect(reset.status, reset.text).toBe(200);
    await login(app, "User1", { email: user.email, password: fits });
  });
});
