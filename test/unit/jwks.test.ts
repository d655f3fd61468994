import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { createAccessTokens } from "../../shared/crypto/tokens";
import { testEnv } from "../helpers/env";

describe("GET /.well-known/jwks.json", () => {
  it("publishes the EdDSA public key (never the private part) that verifies issued access tokens", async () => {
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: "test-2026-11" };
    Object.assign(
      process.env,
      testEnv({
        JWT_ALGORITHM: "EdDSA",
        JWT_PRIVATE_JWK: JSON.stringify(jwk),
        APP_URL: "https://auth.example.test",
      }),
    );
    const { app } = await import("../../functions/jwks");

    const res = await app.request("/.well-known/jwks.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toMatch(/max-age=\d+/);
    const jwks = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({
      kty: "OKP",
      crv: "Ed25519",
      kid: "test-2026-11",
      alg: "EdDSA",
      use: "sig",
    });
    expect(jwks.keys[0]).not.toHaveProperty("d");

    const tokens = await createAccessTokens({
      algorithm: "EdDSA",
      privateJwk: jwk,
      issuer: "https://auth.example.test",
      ttlSeconds: 60,
    });
    const { token } = await tokens.issue({ subject: "usr_x", audience: "User1" });
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks as never), {
      issuer: "https://auth.example.test",
      audience: "User1",
    });
    expect(payload.sub).toBe("usr_x");
  });
});
