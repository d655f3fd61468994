import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  jwtVerify,
  SignJWT,
} from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { base64UrlEncode, utf8Encode } from "../../../shared/crypto/encoding";
import {
  type AccessTokens,
  type AccessTokensOptions,
  createAccessTokens,
  VERIFIED_TOKEN_CACHE_SIZE,
} from "../../../shared/crypto/tokens";
import { AuthError, ConfigError } from "../../../shared/errors";

const SECRET = `${"s".repeat(32)}-test-secret-for-hs256`;
const ISSUER = "https://auth.example.test";
const T0_MS = 1_700_000_000_000;
const T0 = T0_MS / 1000;

async function privateJwk(alg: "EdDSA" | "ES256", kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid };
}

/** An AccessTokens instance whose clock the test controls. */
async function tokensAt(nowMs: number, overrides: Partial<AccessTokensOptions> = {}): Promise<AccessTokens> {
  return createAccessTokens({
    algorithm: "HS256",
    secret: SECRET,
    issuer: ISSUER,
    ttlSeconds: 1800,
    nowMs: () => nowMs,
    ...overrides,
  });
}

async function expectInvalidToken(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AuthError);
  const authError = error as AuthError;
  expect(authError.code).toBe("invalid_token");
  expect(authError.status).toBe(401);
  expect(authError.headers["WWW-Authenticate"]).toBe('Bearer error="invalid_token"');
  expect(authError.message).toBe("The access token is invalid or expired");
  expect(authError.cause).toBeDefined();
}

/** Signs arbitrary claims with the HS256 test secret, as a holder of the secret could. */
function forgeHs256(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "at+jwt", ...header })
    .sign(utf8Encode(SECRET));
}

const validClaims = (overrides: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  sub: "usr_1",
  aud: "User1",
  iat: T0,
  exp: T0 + 1800,
  jti: "jti_1",
  ...overrides,
});

describe("access tokens: round trips", () => {
  it("HS256: issue then verify returns the registered claims; header is at+jwt; no JWKS", async () => {
    const tokens = await tokensAt(T0_MS);
    const issued = await tokens.issue({ subject: "usr_1", audience: "User1", extra: { sid: "fam_1" } });
    expect(issued.issuedAt).toBe(T0);
    expect(issued.expiresAt).toBe(T0 + 1800);
    expect(issued.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(decodeProtectedHeader(issued.token)).toEqual({ alg: "HS256", typ: "at+jwt" });
    const claims = await tokens.verify(issued.token, "User1");
    expect(claims).toMatchObject({ iss: ISSUER, sub: "usr_1", aud: "User1", iat: T0, exp: T0 + 1800 });
    expect(claims.jti).toBe(issued.jti);
    expect(claims.sid).toBe("fam_1");
    expect(tokens.jwks()).toEqual({ keys: [] });
  });

  it("issuedAtSeconds places a token up to the clock tolerance ahead (after a revocation mark), never before now", async () => {
    const tokens = await tokensAt(T0_MS);
    const issued = await tokens.issue({ subject: "usr_1", audience: "User1", issuedAtSeconds: T0 + 1 });
    expect(issued).toMatchObject({ issuedAt: T0 + 1, expiresAt: T0 + 1 + 1800 });
    expect((await tokens.verify(issued.token, "User1")).iat).toBe(T0 + 1);
    expect(
      (await tokens.issue({ subject: "usr_1", audience: "User1", issuedAtSeconds: T0 - 1 })).issuedAt,
    ).toBe(T0);
    await expect(
      tokens.issue({ subject: "usr_1", audience: "User1", issuedAtSeconds: T0 + 60 }),
    ).rejects.toThrow(RangeError);
  });

  it("every token gets a distinct 128-bit jti", async () => {
    const tokens = await tokensAt(T0_MS);
    const jtis = new Set<string>();
    for (let i = 0; i < 50; i++) jtis.add((await tokens.issue({ subject: "usr_1", audience: "User1" })).jti);
    expect(jtis.size).toBe(50);
  });

  it("extra claims cannot override registered claims", async () => {
    const tokens = await tokensAt(T0_MS);
    for (const name of ["sub", "aud", "exp", "iss", "jti", "iat", "nbf"]) {
      await expect(
        tokens.issue({ subject: "usr_1", audience: "User1", extra: { [name]: "x" } }),
      ).rejects.toThrow(TypeError);
    }
  });

  it.each(["EdDSA", "ES256"] as const)(
    "%s: round trip, and the JWKS lets a third party verify without the private key",
    async (alg) => {
      const jwk = await privateJwk(alg, `${alg}-key-1`);
      const tokens = await tokensAt(T0_MS, { algorithm: alg, privateJwk: jwk, secret: undefined });
      const issued = await tokens.issue({ subject: "usr_2", audience: "User2" });
      expect(decodeProtectedHeader(issued.token)).toEqual({ alg, typ: "at+jwt", kid: `${alg}-key-1` });
      expect((await tokens.verify(issued.token, "User2")).sub).toBe("usr_2");

      const { keys } = tokens.jwks();
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatchObject({ kid: `${alg}-key-1`, alg, use: "sig", kty: jwk.kty, crv: jwk.crv });
      expect(keys[0]).not.toHaveProperty("d");
      const { payload } = await jwtVerify(issued.token, createLocalJWKSet({ keys }), {
        issuer: ISSUER,
        audience: "User2",
        currentDate: new Date(T0_MS),
      });
      expect(payload.sub).toBe("usr_2");
    },
  );
});

describe("access tokens: attacks are rejected with invalid_token", () => {
  let hs: AccessTokens;
  let ed: AccessTokens;
  let edJwk: JWK;

  beforeAll(async () => {
    hs = await tokensAt(T0_MS);
    edJwk = await privateJwk("EdDSA", "ed-1");
    ed = await tokensAt(T0_MS, { algorithm: "EdDSA", privateJwk: edJwk, secret: undefined });
  });

  it('alg "none" (unsigned token) is refused', async () => {
    const { token } = await hs.issue({ subject: "usr_1", audience: "User1" });
    const payload = token.split(".")[1];
    const header = base64UrlEncode(utf8Encode(JSON.stringify({ alg: "none", typ: "at+jwt" })));
    await expectInvalidToken(hs.verify(`${header}.${payload}.`, "User1"));
    await expectInvalidToken(ed.verify(`${header}.${payload}.`, "User1"));
  });

  it("HS256 forged with the EdDSA/ES256 public key as HMAC secret is refused (key confusion)", async () => {
    for (const alg of ["EdDSA", "ES256"] as const) {
      const jwk = alg === "EdDSA" ? edJwk : await privateJwk("ES256", "es-1");
      const tokens = alg === "EdDSA" ? ed : await tokensAt(T0_MS, { algorithm: alg, privateJwk: jwk });
      const publicJwk = tokens.jwks().keys[0]!;
      const candidateSecrets = [utf8Encode(JSON.stringify(publicJwk)), utf8Encode(publicJwk.x!)];
      for (const secret of candidateSecrets) {
        const forged = await new SignJWT(validClaims())
          .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: jwk.kid! })
          .sign(secret);
        await expectInvalidToken(tokens.verify(forged, "User1"));
      }
    }
  });

  it("a token for another user kind (audience) is refused", async () => {
    const { token } = await hs.issue({ subject: "usr_1", audience: "User1" });
    await expectInvalidToken(hs.verify(token, "User2"));
  });

  it("a token from another issuer sharing the secret is refused", async () => {
    const other = await tokensAt(T0_MS, { issuer: "https://evil.example.test" });
    const { token } = await other.issue({ subject: "usr_1", audience: "User1" });
    await expectInvalidToken(hs.verify(token, "User1"));
  });

  it("an expired token is refused once past the clock tolerance (and accepted just inside it)", async () => {
    const { token } = await hs.issue({ subject: "usr_1", audience: "User1" });
    expect((await (await tokensAt(T0_MS + (1800 + 4) * 1000)).verify(token, "User1")).sub).toBe("usr_1");
    await expectInvalidToken((await tokensAt(T0_MS + (1800 + 6) * 1000)).verify(token, "User1"));
  });

  it("a token issued in the future (iat) beyond the tolerance is refused", async () => {
    const fromFuture = await (await tokensAt(T0_MS + 60_000)).issue({ subject: "usr_1", audience: "User1" });
    await expectInvalidToken(hs.verify(fromFuture.token, "User1"));
    const slightSkew = await (await tokensAt(T0_MS + 3_000)).issue({ subject: "usr_1", audience: "User1" });
    expect((await hs.verify(slightSkew.token, "User1")).sub).toBe("usr_1");
  });

  it("a not-yet-valid token (nbf in the future) is refused", async () => {
    await expectInvalidToken(hs.verify(await forgeHs256(validClaims({ nbf: T0 + 60 })), "User1"));
  });

  it("a token older than the TTL is refused even if its exp is far away", async () => {
    const stale = await forgeHs256(validClaims({ iat: T0 - 3600, exp: T0 + 3600 }));
    await expectInvalidToken(hs.verify(stale, "User1"));
  });

  it("tokens missing sub, jti, exp or iat are refused", async () => {
    for (const missing of ["sub", "jti", "exp", "iat"]) {
      const claims: Record<string, unknown> = validClaims();
      delete claims[missing];
      await expectInvalidToken(hs.verify(await forgeHs256(claims), "User1"));
    }
  });

  it("a JWT of another type (typ JWT, e.g. an ID token) signed with the same key is refused", async () => {
    await expectInvalidToken(hs.verify(await forgeHs256(validClaims(), { typ: "JWT" }), "User1"));
  });

  it("a tampered payload (signature kept) is refused", async () => {
    const { token } = await hs.issue({ subject: "usr_1", audience: "User1" });
    const [h, , s] = token.split(".");
    const claims = { ...decodeJwt(token), sub: "usr_admin" };
    const payload = base64UrlEncode(utf8Encode(JSON.stringify(claims)));
    await expectInvalidToken(hs.verify(`${h}.${payload}.${s}`, "User1"));
    const edToken = (await ed.issue({ subject: "usr_1", audience: "User1" })).token.split(".");
    await expectInvalidToken(ed.verify(`${edToken[0]}.${payload}.${edToken[2]}`, "User1"));
  });

  it("an unknown or missing kid is refused, as is a token signed by another key", async () => {
    const otherJwk = await privateJwk("EdDSA", "other");
    const other = await tokensAt(T0_MS, { algorithm: "EdDSA", privateJwk: otherJwk });
    await expectInvalidToken(
      ed.verify((await other.issue({ subject: "usr_1", audience: "User1" })).token, "User1"),
    );
    const sameKidOtherKey = await tokensAt(T0_MS, {
      algorithm: "EdDSA",
      privateJwk: { ...otherJwk, kid: "ed-1" },
    });
    const impostor = await sameKidOtherKey.issue({ subject: "usr_1", audience: "User1" });
    await expectInvalidToken(ed.verify(impostor.token, "User1"));
    const signKey = await generateKeyPair("EdDSA");
    const noKid = await new SignJWT(validClaims())
      .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt" })
      .sign(signKey.privateKey);
    await expectInvalidToken(ed.verify(noKid, "User1"));
  });

  it("a token signed with the right key but an unknown or missing kid is refused (kid is pinned)", async () => {
    const rightKey = await importJWK(edJwk, "EdDSA");
    for (const header of [{ kid: "ed-2" }, {}]) {
      const token = await new SignJWT(validClaims())
        .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", ...header })
        .sign(rightKey);
      await expectInvalidToken(ed.verify(token, "User1"));
    }
    const control = await new SignJWT(validClaims())
      .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: "ed-1" })
      .sign(rightKey);
    expect((await ed.verify(control, "User1")).sub).toBe("usr_1");
  });

  it("garbage strings are refused", async () => {
    const garbage = ["", "abc", "a.b.c", "...", "e30.e30.", `${"A".repeat(9000)}.e30.sig`, "Bearer x.y.z"];
    for (const token of garbage) await expectInvalidToken(hs.verify(token, "User1"));
    await expectInvalidToken(hs.verify(undefined as unknown as string, "User1"));
  });
});

describe("access tokens: configuration", () => {
  it.each([
    ["a short HS256 secret", { algorithm: "HS256", secret: "too-short" }],
    ["a missing HS256 secret", { algorithm: "HS256" }],
    ["a missing private JWK", { algorithm: "EdDSA" }],
    ["a zero TTL", { algorithm: "HS256", secret: SECRET, ttlSeconds: 0 }],
  ] as const)("refuses %s with ConfigError", async (_why, opts) => {
    await expect(createAccessTokens({ issuer: ISSUER, ...opts })).rejects.toBeInstanceOf(ConfigError);
  });

  it("refuses private JWKs without kid, without d, for the wrong curve, or not forming a key pair", async () => {
    const ed = await privateJwk("EdDSA", "k");
    const es = await privateJwk("ES256", "k");
    const { d: _d, ...publicOnly } = ed;
    const mismatched = { ...ed, x: (await privateJwk("EdDSA", "k")).x };
    const { kid: _kid, ...noKid } = ed;
    for (const [algorithm, jwk] of [
      ["EdDSA", noKid],
      ["EdDSA", publicOnly],
      ["ES256", ed],
      ["EdDSA", es],
      ["EdDSA", mismatched],
      ["EdDSA", { ...ed, alg: "ES256" }],
    ] as const) {
      await expect(createAccessTokens({ algorithm, privateJwk: jwk, issuer: ISSUER })).rejects.toBeInstanceOf(
        ConfigError,
      );
    }
  });
});

describe("access tokens: an instance remembers the tokens it verified", () => {
  /** An instance on a clock the test moves, counting jose's signature checks (WebCrypto calls). */
  async function movableTokens(overrides: Partial<AccessTokensOptions> = {}) {
    let now = T0_MS;
    const tokens = await createAccessTokens({
      algorithm: "HS256",
      secret: SECRET,
      issuer: ISSUER,
      ttlSeconds: 1800,
      nowMs: () => now,
      ...overrides,
    });
    const sign = vi.spyOn(crypto.subtle, "sign");
    const verify = vi.spyOn(crypto.subtle, "verify");
    return {
      tokens,
      at: (ms: number) => {
        now = ms;
      },
      signatureChecks: () => sign.mock.calls.length + verify.mock.calls.length,
    };
  }
  afterEach(() => vi.restoreAllMocks());

  it("verifies the signature of a token once; later presentations return the same claims", async () => {
    const t = await movableTokens();
    const { token } = await t.tokens.issue({ subject: "usr_1", audience: "User1" });
    const before = t.signatureChecks();
    const first = await t.tokens.verify(token, "User1");
    const checksForFirst = t.signatureChecks() - before;
    expect(checksForFirst).toBeGreaterThan(0);
    const second = await t.tokens.verify(token, "User1");
    expect(t.signatureChecks() - before).toBe(checksForFirst);
    expect(second).toEqual(first);
    second.sub = "usr_2"; // a caller changing its copy changes nothing for the next one
    expect((await t.tokens.verify(token, "User1")).sub).toBe("usr_1");
  });

  it("still refuses a remembered token once its exp (plus tolerance) has passed", async () => {
    const t = await movableTokens({ ttlSeconds: 1800 });
    const { token } = await t.tokens.issue({ subject: "usr_1", audience: "User1" });
    expect((await t.tokens.verify(token, "User1")).sub).toBe("usr_1");
    t.at(T0_MS + (1800 + 4) * 1000); // inside the 5 s tolerance, as jose decides
    expect((await t.tokens.verify(token, "User1")).sub).toBe("usr_1");
    t.at(T0_MS + (1800 + 5) * 1000); // exp <= now - tolerance: jose refuses from here
    await expectInvalidToken(t.tokens.verify(token, "User1"));
    t.at(T0_MS + (1800 + 4) * 1000); // and the refusal is not cached as a success either way
    expect((await t.tokens.verify(token, "User1")).sub).toBe("usr_1");
  });

  it("still refuses a remembered token once it is older than the TTL, whatever its exp", async () => {
    const t = await movableTokens();
    const stale = await forgeHs256(validClaims({ iat: T0, exp: T0 + 7200 }));
    expect((await t.tokens.verify(stale, "User1")).sub).toBe("usr_1");
    t.at(T0_MS + (1800 + 5) * 1000); // age − tolerance = ttl: still accepted by jose
    expect((await t.tokens.verify(stale, "User1")).sub).toBe("usr_1");
    t.at(T0_MS + (1800 + 6) * 1000);
    await expectInvalidToken(t.tokens.verify(stale, "User1"));
  });

  it("does not let a token remembered for one audience pass for another", async () => {
    const t = await movableTokens();
    const { token } = await t.tokens.issue({ subject: "usr_1", audience: "User1" });
    await t.tokens.verify(token, "User1");
    await expectInvalidToken(t.tokens.verify(token, "User2"));
  });

  it("never remembers a refusal: a tampered token is checked in full every time", async () => {
    const t = await movableTokens();
    const { token } = await t.tokens.issue({ subject: "usr_1", audience: "User1" });
    await t.tokens.verify(token, "User1");
    const [h, p, s] = token.split(".") as [string, string, string];
    const tampered = `${h}.${p}.${s.slice(0, -2)}${s.endsWith("AA") ? "BB" : "AA"}`;
    const before = t.signatureChecks();
    await expectInvalidToken(t.tokens.verify(tampered, "User1"));
    await expectInvalidToken(t.tokens.verify(tampered, "User1"));
    expect(t.signatureChecks() - before).toBeGreaterThanOrEqual(2);
  });

  it(`keeps at most ${VERIFIED_TOKEN_CACHE_SIZE} tokens, forgetting the oldest first`, async () => {
    const t = await movableTokens();
    const issued = [];
    for (let i = 0; i <= VERIFIED_TOKEN_CACHE_SIZE; i++)
      issued.push((await t.tokens.issue({ subject: `usr_${i}`, audience: "User1" })).token);
    for (const token of issued) await t.tokens.verify(token, "User1");
    const before = t.signatureChecks();
    await t.tokens.verify(issued.at(-1) as string, "User1"); // newest: remembered
    expect(t.signatureChecks()).toBe(before);
    await t.tokens.verify(issued[0] as string, "User1"); // oldest: evicted, checked again
    expect(t.signatureChecks()).toBeGreaterThan(before);
  });
});
