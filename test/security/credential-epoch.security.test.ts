import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisKeys } from "../../shared/accounts/keys";
import { loadPasswordHasher, type PasswordHasher } from "../../shared/crypto/password";
import { createOpaqueToken, randomId } from "../../shared/crypto/random";
import { confirmVerificationLink } from "../fixtures/accounts";
import { startTestApp, type TestApp } from "../fixtures/context";
import { apiClient } from "../helpers/api-client";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { createTestUpstashClient } from "../helpers/redis";

/**
 * Revocation is by a per-user credential epoch, never by wall-clock seconds (DESIGN.md §5, §9;
 * security findings F1 and F2, issue #14 item 1), in process on real parts (redis-server behind
 * the Upstash bridge, SQLite, the real Argon2 hasher):
 * - a login whose password verification began before a password reset, or before a log out
 *   everywhere, yields no session that survives it (the verification is held open by wrapping the
 *   REAL hasher, and released once the revocation has answered);
 * - two revocations in the same second both take effect;
 * - tokens and refresh records issued before the epoch existed count as epoch 0, and a legacy
 *   revoked-before mark still ends them.
 */

/** Holds the next `verify` call of the real hasher open until the test releases it. */
interface VerifyGate {
  /** Arms the gate: resolves once a verification has started and is parked; call the result to let it finish. */
  holdNext(): Promise<() => void>;
}

function gatedHasher(): { gate: VerifyGate; load: typeof loadPasswordHasher } {
  let armed: ((release: () => void) => void) | null = null;
  const gate: VerifyGate = {
    holdNext: () =>
      new Promise((parked) => {
        armed = parked;
      }),
  };
  const load: typeof loadPasswordHasher = async (options) => {
    const real: PasswordHasher = await loadPasswordHasher(options);
    return {
      backend: real.backend,
      hash: (password) => real.hash(password),
      dummyVerify: (password) => real.dummyVerify(password),
      needsRehash: (phc) => real.needsRehash(phc),
      async verify(phc, password) {
        const parked = armed;
        armed = null;
        if (parked) {
          // Verification has begun (the login already read what it reads before it); wait.
          await new Promise<void>((release) => parked(release));
        }
        return real.verify(phc, password);
      },
    } satisfies PasswordHasher;
  };
  return { gate, load };
}

let app: TestApp;
let api: ReturnType<typeof apiClient>;
let gate: VerifyGate;

beforeAll(async () => {
  const hasher = gatedHasher();
  gate = hasher.gate;
  app = await startTestApp({ RATE_LIMITS: GENEROUS_RATE_LIMITS }, { passwordHasher: hasher.load });
  api = apiClient(app);
});
afterAll(async () => {
  await app?.stop();
});

const PASSWORD = "Tr0ub4dor&3-horse-Battery";
const NEW_PASSWORD = "Correct-Staple-Orbit-7319";
let counter = 0;
const unique = () => `${Date.now().toString(36)}${counter++}`;

interface Session {
  access: string;
  refresh: string;
}

async function verifiedUser(kind = "User1") {
  const user = {
    first_name: "Grace",
    last_name: "Hopper",
    email: `grace.${unique()}@example.com`,
    phone: "+14155552671",
    country_code: "US",
    password: PASSWORD,
  };
  const created = await api.request("POST", `/${kind}/create`, { json: user });
  expect(created.status, created.text).toBe(201);
  const mail = await app.waitForEmail(user.email, (e) => e.links.some((l) => l.includes("/verify?token=")));
  const link = mail.links.find((l) => l.includes("/verify?token=")) as string;
  const verified = await confirmVerificationLink(app, link);
  expect(verified.status).toBe(200);
  return { ...user, id: created.json.id as string };
}

const loginRequest = (kind: string, email: string, password = PASSWORD) =>
  api.request("POST", `/${kind}/login`, { form: { username: email, password } });

async function session(kind: string, email: string, password = PASSWORD): Promise<Session> {
  const res = await loginRequest(kind, email, password);
  expect(res.status, res.text).toBe(200);
  return { access: res.json.access_token as string, refresh: res.json.refresh_token as string };
}

const profile = (kind: string, access: string) => api.request("GET", `/${kind}/`, { token: access });
const refresh = (kind: string, refreshToken: string) =>
  api.request("POST", `/${kind}/token`, {
    form: { grant_type: "refresh_token", refresh_token: refreshToken },
  });

/** Both halves of a session are refused: the access token (401 token_revoked) and the refresh token (401 invalid_grant). */
async function expectDead(kind: string, s: Session): Promise<void> {
  const read = await profile(kind, s.access);
  expect(read.status, read.text).toBe(401);
  expect(read.json.code).toBe("token_revoked");
  const rotated = await refresh(kind, s.refresh);
  expect(rotated.status, rotated.text).toBe(401);
  expect(rotated.json.code).toBe("invalid_grant");
}

async function expectAlive(kind: string, s: Session): Promise<void> {
  expect((await profile(kind, s.access)).status).toBe(200);
  expect((await refresh(kind, s.refresh)).status).toBe(200);
}

async function resetToken(kind: string, email: string): Promise<string> {
  expect((await api.request("POST", `/${kind}/forget_password`, { json: { email } })).status).toBe(200);
  const mail = await app.waitForEmail(email, (e) => e.links.some((l) => l.includes("reset_password_form")));
  const link = mail.links.find((l) => l.includes("reset_password_form")) as string;
  return new URL(link).searchParams.get("token") as string;
}

describe("a login racing a revocation leaves no surviving session (F1)", () => {
  it("a login whose password check began before a password reset yields no working session (20 runs)", async () => {
    let refusedAtLogin = 0;
    let refusedOnUse = 0;
    for (let run = 0; run < 20; run++) {
      const user = await verifiedUser();
      const token = await resetToken("User1", user.email);
      const parked = gate.holdNext();
      const racing = loginRequest("User1", user.email, PASSWORD); // the attacker knows the old password
      const release = await parked; // its Argon2 verification has begun
      const reset = await api.request("POST", "/User1/reset_password", {
        json: { token, password: NEW_PASSWORD },
      });
      expect(reset.status, reset.text).toBe(200);
      release();
      const res = await racing;
      if (res.status === 200) {
        refusedOnUse++;
        await expectDead("User1", {
          access: res.json.access_token as string,
          refresh: res.json.refresh_token as string,
        });
      } else {
        // The login saw that the password it verified is no longer the stored one.
        expect(res.status, res.text).toBe(401);
        expect(res.json.code).toBe("invalid_credentials");
        refusedAtLogin++;
      }
      // The owner's new password works and its session lives.
      await expectAlive("User1", await session("User1", user.email, NEW_PASSWORD));
    }
    expect(refusedAtLogin + refusedOnUse).toBe(20);
  });

  it("a login whose password check began before a log out everywhere gets tokens that are refused (20 runs)", async () => {
    const user = await verifiedUser("User2");
    for (let run = 0; run < 20; run++) {
      const owner = await session("User2", user.email);
      const parked = gate.holdNext();
      const racing = loginRequest("User2", user.email);
      const release = await parked;
      const out = await api.request("POST", "/User2/logout_all", { token: owner.access });
      expect(out.status, out.text).toBe(200);
      release();
      const res = await racing;
      // Same password, so the login completes; its session was started under the old epoch.
      expect(res.status, res.text).toBe(200);
      await expectDead("User2", {
        access: res.json.access_token as string,
        refresh: res.json.refresh_token as string,
      });
      await expectDead("User2", owner);
    }
    await expectAlive("User2", await session("User2", user.email));
  });

  it("a login whose password check began before a password change yields no working session", async () => {
    const user = await verifiedUser();
    const owner = await session("User1", user.email);
    const parked = gate.holdNext();
    const racing = loginRequest("User1", user.email);
    const release = await parked;
    // change_password verifies the current password too: the gate is disarmed, it runs unheld.
    const changed = await api.request("POST", "/User1/change_password", {
      token: owner.access,
      json: { current_password: PASSWORD, new_password: NEW_PASSWORD },
    });
    expect(changed.status, changed.text).toBe(200);
    release();
    const res = await racing;
    if (res.status === 200) {
      await expectDead("User1", {
        access: res.json.access_token as string,
        refresh: res.json.refresh_token as string,
      });
    } else {
      expect(res.json.code).toBe("invalid_credentials");
    }
    await expectAlive("User1", {
      access: changed.json.access_token as string,
      refresh: changed.json.refresh_token as string,
    });
  });
});

describe("a login racing an account deletion", () => {
  it("yields no session, and the deleted user's epoch counter is kept only as long as a token could live", async () => {
    const user = await verifiedUser();
    const owner = await session("User1", user.email);
    const parked = gate.holdNext();
    const racing = loginRequest("User1", user.email);
    const release = await parked;
    const deleted = await api.request("DELETE", "/User1/delete", {
      token: owner.access,
      json: { password: PASSWORD },
    });
    expect(deleted.status, deleted.text).toBe(200);
    release();
    const res = await racing;
    if (res.status === 200) {
      await expectDead("User1", {
        access: res.json.access_token as string,
        refresh: res.json.refresh_token as string,
      });
    } else {
      expect(res.json.code).toBe("invalid_credentials");
    }
    await expectDead("User1", owner);
    // TTL hygiene: a live user's counter has none; a deleted user's expires (seconds, > 0).
    const redis = createTestUpstashClient(app.redis);
    expect(await redis.ttl(redisKeys.credentialEpoch("User1", user.id))).toBeGreaterThan(0);
    const live = await verifiedUser();
    const s = await session("User1", live.email);
    expect((await api.request("POST", "/User1/logout_all", { token: s.access })).status).toBe(200);
    expect(await redis.ttl(redisKeys.credentialEpoch("User1", live.id))).toBe(-1);
  });
});

describe("two revocations in one second both take effect (F2)", () => {
  it("log out everywhere, log in, log out everywhere again: the second login's tokens are refused", async () => {
    // The manual clock is not moved: every step runs within the same second or two, which the
    // wall-clock mark could not tell apart and the epoch does not need to.
    const user = await verifiedUser();
    const first = await session("User1", user.email);
    expect((await api.request("POST", "/User1/logout_all", { token: first.access })).status).toBe(200);
    const second = await session("User1", user.email);
    expect((await api.request("POST", "/User1/logout_all", { token: second.access })).status).toBe(200);
    await expectDead("User1", first);
    await expectDead("User1", second);
    await expectAlive("User1", await session("User1", user.email));
  });

  it("a log out everywhere right after a password change ends the change's new session", async () => {
    const user = await verifiedUser();
    const before = await session("User1", user.email);
    const changed = await api.request("POST", "/User1/change_password", {
      token: before.access,
      json: { current_password: PASSWORD, new_password: NEW_PASSWORD },
    });
    expect(changed.status, changed.text).toBe(200);
    const fresh = {
      access: changed.json.access_token as string,
      refresh: changed.json.refresh_token as string,
    };
    expect((await api.request("POST", "/User1/logout_all", { token: fresh.access })).status).toBe(200);
    await expectDead("User1", fresh);
    await expectDead("User1", before);
  });
});

describe("tokens from before the credential epoch", () => {
  /** An access token and refresh record as the service wrote them before `cep` existed. */
  async function legacySession(kind: string, userId: string): Promise<Session> {
    const { tokens, kv } = await app.context.accountDeps("tokens", "kv");
    const familyId = randomId("rtf");
    const issued = await tokens.issue({ subject: userId, audience: kind, extra: { sid: familyId } });
    const { token, hash } = createOpaqueToken();
    const issuedAtSeconds = Math.floor(app.clock.nowMs() / 1000);
    await kv.set(redisKeys.refreshToken(kind, hash), JSON.stringify({ userId, familyId, issuedAtSeconds }), {
      ttlSeconds: 600,
    });
    return { access: issued.token, refresh: token };
  }

  it("count as epoch 0: good until the user's first revocation", async () => {
    const user = await verifiedUser();
    const before = await legacySession("User1", user.id);
    expect((await profile("User1", before.access)).status).toBe(200);
    const rotated = await refresh("User1", before.refresh);
    expect(rotated.status, rotated.text).toBe(200);
    const legacy = await legacySession("User1", user.id);
    const own = await session("User1", user.email);
    expect((await api.request("POST", "/User1/logout_all", { token: own.access })).status).toBe(200);
    await expectDead("User1", legacy);
    await expectDead("User1", {
      access: rotated.json.access_token as string,
      refresh: rotated.json.refresh_token as string,
    });
  });

  it("a legacy revoked-before mark still ends the tokens issued up to it", async () => {
    const user = await verifiedUser();
    const legacy = await legacySession("User1", user.id);
    const { kv } = await app.context.accountDeps("kv");
    app.clock.advanceSeconds(1); // the mark is at or after the legacy tokens' second
    await kv.set(redisKeys.revokedBefore("User1", user.id), String(Math.floor(app.clock.nowMs() / 1000)), {
      ttlSeconds: 600,
    });
    await expectDead("User1", legacy);
  });
});
