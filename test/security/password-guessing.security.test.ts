import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type LoadPasswordHasherOptions,
  loadPasswordHasher,
  type PasswordHasher,
} from "../../shared/crypto/password";
import { confirmVerificationLink } from "../fixtures/accounts";
import { startTestApp, type TestApp } from "../fixtures/context";
import { apiClient } from "../helpers/api-client";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";

/**
 * Issue #14 items 2 and 3 (findings F3, F6, F9; DESIGN.md §9): a password attempt is reserved
 * before it is verified, so parallel guesses cost what serial ones do; change_password and delete
 * count toward the same budgets; and the low threshold applies per (account, client address), so a
 * stranger's wrong guesses cannot keep the owner out.
 *
 * In process, on real parts (redis-server behind the Upstash bridge, SQLite, the real Argon2
 * hasher). Verifications are counted by a hasher that wraps the REAL `loadPasswordHasher` and only
 * counts calls. Client addresses come from `X-Forwarded-For` with one trusted proxy.
 */

/** The real hasher, counting the verifications it performs (real and dummy alike). */
function countingHasher() {
  const counter = { verifications: 0 };
  const load = async (options: LoadPasswordHasherOptions): Promise<PasswordHasher> => {
    const real = await loadPasswordHasher(options);
    return {
      backend: real.backend,
      hash: (password) => real.hash(password),
      needsRehash: (phc) => real.needsRehash(phc),
      verify: (phc, password) => {
        counter.verifications++;
        return real.verify(phc, password);
      },
      dummyVerify: (password) => {
        counter.verifications++;
        return real.dummyVerify(password);
      },
    };
  };
  return { counter, load };
}

const PER_ADDRESS = 5;
const PER_ACCOUNT = 8; // set low, so the account-wide budget is reachable from 20 addresses

/** Attack budgets as low as the test needs them; the per-route rate limits out of the way. */
let low: TestApp;
const lowHasher = countingHasher();
/** The documented defaults (5 per pair, 100 per account), for the trickle. */
let defaults: TestApp;
const defaultsHasher = countingHasher();

beforeAll(async () => {
  low = await startTestApp(
    {
      RATE_LIMITS: GENEROUS_RATE_LIMITS,
      TRUSTED_PROXY_COUNT: "1",
      LOGIN_LOCK_PER_ADDRESS: String(PER_ADDRESS),
      LOGIN_LOCK_PER_ACCOUNT: String(PER_ACCOUNT),
    },
    { passwordHasher: lowHasher.load },
  );
  defaults = await startTestApp(
    { RATE_LIMITS: GENEROUS_RATE_LIMITS, TRUSTED_PROXY_COUNT: "1" },
    { passwordHasher: defaultsHasher.load, redis: low.redis },
  );
});
afterAll(async () => {
  await defaults?.stop();
  await low?.stop();
});

const PASSWORD = "Tr0ub4dor&3-horse-Battery";
let counter = 0;
let octet = 0;
/** A client address no other request of this file used. */
const freshAddress = () => {
  octet++;
  return `198.51.${100 + Math.floor(octet / 250)}.${(octet % 250) + 1}`;
};
const from = (address: string) => ({ "x-forwarded-for": address });

function client(app: TestApp) {
  const api = apiClient(app);
  const login = (email: string, password: string, address: string) =>
    api.request("POST", "/User1/login", { form: { username: email, password }, headers: from(address) });
  /** Registers, verifies and logs in from `address`; returns the email and an access token. */
  const activeUser = async (address: string) => {
    const email = `guess.${Date.now()}.${counter++}@example.com`;
    const user = {
      first_name: "Ada",
      last_name: "Lovelace",
      email,
      phone: "+14155552671",
      country_code: "US",
      password: PASSWORD,
    };
    expect((await api.request("POST", "/User1/create", { json: user, headers: from(address) })).status).toBe(
      201,
    );
    const mail = await app.waitForEmail(email, (e) => e.links.some((l) => l.includes("/verify?token=")));
    expect(
      (await confirmVerificationLink(app, mail.links.find((l) => l.includes("/verify?token=")) as string))
        .status,
    ).toBe(200);
    const res = await login(email, PASSWORD, address);
    expect(res.status, res.text).toBe(200);
    return { email, token: res.json.access_token as string };
  };
  return { api, login, activeUser };
}

const statuses = (answers: { status: number }[]) => answers.map((a) => a.status).sort();
const times = (n: number, status: number) => Array<number>(n).fill(status);
const wrong = (i: number) => `wrong-${i}-Xq9!-guess`;

describe("parallel guesses cost what serial ones do (F3)", () => {
  it("20 parallel wrong guesses from one address get LOGIN_LOCK_PER_ADDRESS verifications; the right password after them is refused from that address only", async () => {
    const { login, activeUser } = client(low);
    const owner = freshAddress();
    const attacker = freshAddress();
    const { email } = await activeUser(owner);
    const before = lowHasher.counter.verifications;
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => login(email, wrong(i), attacker)));
    expect(lowHasher.counter.verifications - before).toBe(PER_ADDRESS);
    expect(statuses(answers)).toEqual([...times(PER_ADDRESS, 401), ...times(20 - PER_ADDRESS, 429)]);

    const refused = await login(email, PASSWORD, attacker);
    expect(refused.status).toBe(429);
    expect(refused.json.code).toBe("too_many_attempts");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(lowHasher.counter.verifications - before).toBe(PER_ADDRESS); // refused without a verification
    // The lock was aimed at the owner and hit only the attacker's own (account, address) pair.
    expect((await login(email, PASSWORD, owner)).status).toBe(200);
  });

  it("20 parallel wrong guesses from 20 addresses get LOGIN_LOCK_PER_ACCOUNT verifications; the right password after them is refused", async () => {
    const { login, activeUser } = client(low);
    const owner = freshAddress();
    const { email } = await activeUser(owner);
    const before = lowHasher.counter.verifications;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => login(email, wrong(i), freshAddress())),
    );
    expect(lowHasher.counter.verifications - before).toBe(PER_ACCOUNT);
    expect(statuses(answers)).toEqual([...times(PER_ACCOUNT, 401), ...times(20 - PER_ACCOUNT, 429)]);
    for (const address of [freshAddress(), owner]) {
      const refused = await login(email, PASSWORD, address);
      expect(refused.status).toBe(429);
      expect(refused.json.code).toBe("too_many_attempts");
    }
    expect(lowHasher.counter.verifications - before).toBe(PER_ACCOUNT);
  });

  it("counts IPv6 clients by /64: 20 parallel guesses from 20 addresses of one /64 get LOGIN_LOCK_PER_ADDRESS verifications", async () => {
    const { login, activeUser } = client(low);
    const { email } = await activeUser(freshAddress());
    const before = lowHasher.counter.verifications;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        login(email, wrong(i), `2001:db8:${octet + 7}:1::${(i + 1).toString(16)}`),
      ),
    );
    expect(lowHasher.counter.verifications - before).toBe(PER_ADDRESS);
    expect(statuses(answers)).toEqual([...times(PER_ADDRESS, 401), ...times(20 - PER_ADDRESS, 429)]);
  });

  it("spends the same budgets, and the same verifications, on an unknown email as on a real account", async () => {
    const { login } = client(low);
    const email = `nobody.${Date.now()}@example.com`;
    const attacker = freshAddress();
    let before = lowHasher.counter.verifications;
    const fromOne = await Promise.all(Array.from({ length: 20 }, (_, i) => login(email, wrong(i), attacker)));
    expect(lowHasher.counter.verifications - before).toBe(PER_ADDRESS);
    expect(statuses(fromOne)).toEqual([...times(PER_ADDRESS, 401), ...times(20 - PER_ADDRESS, 429)]);

    const other = `nobody.else.${Date.now()}@example.com`;
    before = lowHasher.counter.verifications;
    const fromMany = await Promise.all(
      Array.from({ length: 20 }, (_, i) => login(other, wrong(i), freshAddress())),
    );
    expect(lowHasher.counter.verifications - before).toBe(PER_ACCOUNT);
    expect(statuses(fromMany)).toEqual([...times(PER_ACCOUNT, 401), ...times(20 - PER_ACCOUNT, 429)]);
  });
});

describe("a stolen token is no password-guessing oracle (F6)", () => {
  it("wrong current passwords on change_password and delete count toward the login budgets", async () => {
    const { api, login, activeUser } = client(low);
    const owner = freshAddress();
    const { email, token } = await activeUser(owner);
    const before = lowHasher.counter.verifications;

    const thief = freshAddress();
    const changes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api.request("POST", "/User1/change_password", {
          json: { current_password: wrong(i), new_password: "Correct-Staple-Orbit-7319-x" },
          token,
          headers: from(thief),
        }),
      ),
    );
    expect(statuses(changes)).toEqual([...times(PER_ADDRESS, 403), ...times(20 - PER_ADDRESS, 429)]);
    expect(changes.filter((a) => a.status === 429).every((a) => a.json.code === "too_many_attempts")).toBe(
      true,
    );
    // The thief's address is now locked for logins too: one budget per (account, address).
    expect((await login(email, PASSWORD, thief)).status).toBe(429);

    const deletes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api.request("DELETE", "/User1/delete", {
          json: { password: wrong(i) },
          token,
          headers: from(freshAddress()),
        }),
      ),
    );
    const left = PER_ACCOUNT - PER_ADDRESS;
    expect(statuses(deletes)).toEqual([...times(left, 403), ...times(20 - left, 429)]);
    expect(lowHasher.counter.verifications - before).toBe(PER_ACCOUNT);

    // The account budget is spent: the right password is refused, on login and on delete.
    expect((await login(email, PASSWORD, freshAddress())).status).toBe(429);
    const del = await api.request("DELETE", "/User1/delete", {
      json: { password: PASSWORD },
      token,
      headers: from(freshAddress()),
    });
    expect(del.status).toBe(429);
    expect(lowHasher.counter.verifications - before).toBe(PER_ACCOUNT);
  });
});

describe("a lockout cannot be aimed at the owner (F9)", () => {
  it("a trickle of wrong passwords, one per lock period from the attacker and from fresh addresses, never locks the owner's address out", async () => {
    const { login, activeUser } = client(defaults);
    const owner = freshAddress();
    const attacker = freshAddress();
    const { email } = await activeUser(owner);
    // F9's reproduction: the attacker locks the account as the old throttle knew it...
    for (let i = 0; i < 5; i++) expect((await login(email, wrong(i), attacker)).status).toBe(401);
    expect((await login(email, PASSWORD, attacker)).status).toBe(429);
    // ...then sends one wrong password per lock period, from its address and from a new one.
    for (let period = 0; period < 12; period++) {
      const retryAfter = Number((await login(email, PASSWORD, attacker)).headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      defaults.clock.advanceSeconds(retryAfter);
      expect((await login(email, wrong(100 + period), attacker)).status).toBe(401);
      expect((await login(email, wrong(200 + period), freshAddress())).status).toBe(401);
      const ownerLogin = await login(email, PASSWORD, owner);
      expect(ownerLogin.status, `period ${period}: ${ownerLogin.text}`).toBe(200);
    }
    // The attacker's own pair stays locked, with a growing (capped) delay.
    expect((await login(email, PASSWORD, attacker)).status).toBe(429);
  });

  it("a password reset by the owner lifts the lock the owner's own guesses put on their address", async () => {
    const { api, login, activeUser } = client(low);
    const owner = freshAddress();
    const { email } = await activeUser(owner);
    for (let i = 0; i < PER_ADDRESS; i++) expect((await login(email, wrong(i), owner)).status).toBe(401);
    expect((await login(email, PASSWORD, owner)).status).toBe(429);
    const forgot = await api.request("POST", "/User1/forget_password", {
      json: { email },
      headers: from(owner),
    });
    expect(forgot.status).toBe(200);
    const mail = await low.waitForEmail(email, (e) => e.links.some((l) => l.includes("reset_password_form")));
    const token = new URL(
      mail.links.find((l) => l.includes("reset_password_form")) as string,
    ).searchParams.get("token") as string;
    const newPassword = "Correct-Staple-Orbit-7319-x";
    const reset = await api.request("POST", "/User1/reset_password", {
      json: { token, password: newPassword },
      headers: from(owner),
    });
    expect(reset.status, reset.text).toBe(200);
    expect((await login(email, newPassword, owner)).status).toBe(200);
  });
});
