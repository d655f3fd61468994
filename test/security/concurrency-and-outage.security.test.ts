import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESET_PASSWORD_DEPS, resetPassword } from "../../shared/accounts/reset-password";
import { MAX_UPDATE_ATTEMPTS } from "../../shared/accounts/update-with-retry";
import { VERIFY_EMAIL_DEPS, verifyEmail } from "../../shared/accounts/verify-email";
import { AuthError } from "../../shared/errors";
import type { UserStore } from "../../shared/ports/user-store";
import { confirmVerificationLink, login, newUser, PASSWORD, signUpVerified } from "../fixtures/accounts";
import { startTestApp, type TestApp } from "../fixtures/context";
import { apiClient, send } from "../helpers/api-client";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { startTestRedis, type TestRedis } from "../helpers/redis";

/**
 * Issue #14 item 5 (findings F7, F8): no 500 under concurrency or outage. A lost optimistic-
 * concurrency race is retried with back-off and otherwise answered 409 `conflict`; a one-time link
 * is not used up by a write that failed; a Redis that cannot answer is 503 `service_unavailable`
 * on every route that needs it, `/verify` included.
 */
let app: TestApp;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMITS: GENEROUS_RATE_LIMITS });
  api = apiClient(app);
});
afterAll(async () => {
  await app?.stop();
});

/**
 * The app's real store, except that every `update` loses its race (answers `conflict` without
 * writing), as a record that other requests keep changing would; counts the tries.
 */
function alwaysRacedStore(store: UserStore) {
  const counter = { updates: 0 };
  const raced: UserStore = Object.create(store) as UserStore;
  raced.update = async () => {
    counter.updates++;
    return { ok: false, code: "conflict" };
  };
  return { store: raced, counter };
}

describe("a lost concurrency race is retried or answered 409, never 500 (F7)", () => {
  it("answers 10 concurrent profile updates of one account with 200 or 409 only, and keeps one of them", async () => {
    const user = await signUpVerified(app, "User1");
    const { access_token: token } = await login(app, "User1", user);
    const names = Array.from({ length: 10 }, (_, i) => `Name${i}`);
    const results = await Promise.all(
      names.map((first_name, i) =>
        api.request("PUT", "/User1/update", { token, json: { first_name, phone: `+1415555${1000 + i}` } }),
      ),
    );
    for (const res of results) {
      expect([200, 409], res.text).toContain(res.status);
      if (res.status === 409) {
        expect(res.json.code).toBe("conflict");
        expect(res.headers.get("retry-after")).toBe("1");
      }
    }
    expect(results.some((r) => r.status === 200)).toBe(true);
    const profile = await api.request("GET", "/User1/", { token });
    expect(names).toContain(profile.json.first_name);
  });

  it("gives up after a bounded number of tries with a 409 conflict", async () => {
    const user = await signUpVerified(app, "User1");
    const deps = await app.context.accountDeps(...RESET_PASSWORD_DEPS);
    const { store, counter } = alwaysRacedStore(deps.store);
    expect(
      (await api.request("POST", "/User1/forget_password", { json: { email: user.email } })).status,
    ).toBe(200);
    const mail = await app.waitForEmail(user.email, (e) =>
      e.links.some((l) => l.includes("reset_password_form")),
    );
    const token = new URL(
      mail.links.find((l) => l.includes("reset_password_form")) as string,
    ).searchParams.get("token") as string;
    const NEW = "Correct-Staple-Orbit-7319";
    const failed = await resetPassword({ ...deps, store }, "User1", token, NEW).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(AuthError);
    expect((failed as AuthError).code).toBe("conflict");
    expect((failed as AuthError).status).toBe(409);
    expect(counter.updates).toBe(MAX_UPDATE_ATTEMPTS);

    // The failed write did not use up the link: it still resets, once.
    const reset = await api.request("POST", "/User1/reset_password", { json: { token, password: NEW } });
    expect(reset.status, reset.text).toBe(200);
    await login(app, "User1", { email: user.email, password: NEW });
    const again = await api.request("POST", "/User1/reset_password", { json: { token, password: PASSWORD } });
    expect(again.status).toBe(400);
    expect(again.json.code).toBe("invalid_or_expired_token");
  });

  it("does not use up a verification link whose write lost every race", async () => {
    const user = newUser();
    expect((await api.request("POST", "/User1/create", { json: user })).status).toBe(201);
    const mail = await app.waitForEmail(user.email, (e) => e.links.some((l) => l.includes("/verify?token=")));
    const link = mail.links.find((l) => l.includes("/verify?token=")) as string;
    const token = new URL(link).searchParams.get("token") as string;
    const deps = await app.context.accountDeps(...VERIFY_EMAIL_DEPS);
    const failed = await verifyEmail(
      { ...deps, store: alwaysRacedStore(deps.store).store },
      "User1",
      token,
    ).catch((e: unknown) => e);
    expect((failed as AuthError).code).toBe("conflict");
    const verified = await confirmVerificationLink(app, link);
    expect(verified.status).toBe(200);
    await login(app, "User1", user);
  });
});

describe("a Redis outage is 503, never 500 (F8)", () => {
  let redis: TestRedis;
  let down: TestApp;

  beforeAll(async () => {
    redis = await startTestRedis();
    down = await startTestApp({ RATE_LIMITS: GENEROUS_RATE_LIMITS }, { redis });
  });
  afterAll(async () => {
    await down?.stop();
    await redis?.stop().catch(() => undefined);
  });

  it("answers every Redis route, /verify included, with 503 service_unavailable and Retry-After once Redis is stopped", async () => {
    const client = apiClient(down);
    const user = await signUpVerified(down, "User1");
    const { access_token: token, refresh_token } = await login(down, "User1", user);
    const pending = newUser();
    expect((await client.request("POST", "/User1/create", { json: pending })).status).toBe(201);
    const mail = await down.waitForEmail(pending.email, (e) =>
      e.links.some((l) => l.includes("/verify?token=")),
    );
    const link = mail.links.find((l) => l.includes("/verify?token=")) as string;

    await redis.stop();

    const verifyJson = await confirmVerificationLink(down, link);
    expect(verifyJson.status).toBe(503);
    expect(((await verifyJson.json()) as { code: string }).code).toBe("service_unavailable");
    expect(Number(verifyJson.headers.get("retry-after"))).toBeGreaterThan(0);
    // The link's page needs no Redis (it verifies nothing); its button's form post answers 503.
    const verifyPage = await send(down, link);
    expect(verifyPage.status).toBe(200);
    const verifyForm = await send(down, `${new URL(link).origin}/User1/verify`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "sec-fetch-site": "same-origin" },
      body: new URLSearchParams({ token: new URL(link).searchParams.get("token") as string }).toString(),
    });
    expect(verifyForm.status).toBe(503);

    const attempts = await Promise.all([
      client.request("POST", "/User1/login", { form: { username: user.email, password: PASSWORD } }),
      client.request("POST", "/User1/create", { json: newUser() }),
      client.request("GET", "/User1/", { token }),
      client.request("PUT", "/User1/update", { token, json: { first_name: "Outage" } }),
      client.request("POST", "/User1/forget_password", { json: { email: user.email } }),
      client.request("POST", "/User1/reset_password", {
        json: { token: "x".repeat(43), password: "Correct-Staple-Orbit-7319" },
      }),
      client.request("POST", "/User1/token", { form: { grant_type: "refresh_token", refresh_token } }),
      client.request("POST", "/User1/logout", { token }),
    ]);
    for (const res of attempts) {
      expect(res.status, res.text).toBe(503);
      expect(res.json.code).toBe("service_unavailable");
    }
  });
});
