import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { login, newUser, signUpVerified } from "../fixtures/accounts";
import { GENEROUS_RATE_LIMITS } from "../helpers/env";
import { startTestServer, type TestServer } from "../helpers/local-server";

/**
 * The session check of an authenticated route (one script: revocation + both limits) charges the
 * user's own budget only for a token that is valid and unrevoked (security finding F5): a revoked
 * token, replayed by whoever holds it, cannot exhaust its owner's per-user limit.
 */
let server: TestServer;
beforeAll(async () => {
  // A per-user profile budget of 3 in a window no test run can straddle.
  server = await startTestServer({
    RATE_LIMITS: GENEROUS_RATE_LIMITS.replace("profile=10000/60", "profile=3/1000000"),
  });
});
afterAll(async () => {
  await server?.stop();
});

const read = (token: string) =>
  fetch(`${server.url}/User1/`, { headers: { authorization: `Bearer ${token}` } });

describe("revoked tokens spend nothing", () => {
  it("charges the per-user limit only after the token is known valid and unrevoked", async () => {
    const user = await signUpVerified(server, "User1", newUser());
    const stolen = (await login(server, "User1", user)).access_token;
    const own = (await login(server, "User1", user)).access_token;
    const out = await fetch(`${server.url}/User1/logout`, {
      method: "POST",
      headers: { authorization: `Bearer ${stolen}` },
    });
    expect(out.status).toBe(200);

    for (let i = 0; i < 6; i++) {
      const res = await read(stolen);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe("token_revoked");
    }
    // The owner's budget of 3 is untouched by the six refused replays.
    for (let i = 0; i < 3; i++) expect((await read(own)).status).toBe(200);
    const over = await read(own);
    expect(over.status).toBe(429);
    expect(((await over.json()) as { code: string }).code).toBe("rate_limited");
  });
});
