import { handle } from "hono/aws-lambda";
import * as z from "zod";
import { accessTokenOptions } from "../shared/config/access-tokens";
import { createAccessTokens } from "../shared/crypto/tokens";
import { defineEdgeFunction, edgeContext } from "../shared/http/edge-function";
import { lazyApp } from "../shared/http/function-app";
import { defineRoute } from "../shared/http/route-app";
import { spec } from "./jwks.endpoint";

const JwksResponse = z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).meta({
  id: "JSONWebKeySet",
  example: {
    keys: [
      {
        kty: "OKP",
        crv: "Ed25519",
        x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        kid: "2026-11",
        alg: "EdDSA",
        use: "sig",
      },
    ],
  },
});

const route = defineRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  summary: "Public keys that verify access tokens (RFC 7517)",
  description:
    "Empty for HS256 (a shared secret is never published); EdDSA/ES256 deployments list their public key with its `kid`.",
  tags: ["Operations"],
  responses: {
    200: { description: "JSON Web Key Set", content: { "application/json": { schema: JwksResponse } } },
  },
});

/**
 * `GET /.well-known/jwks.json`: lets other services verify access tokens without the signing key.
 * An `edge` function: Web APIs only (jose), so it can run on any runtime and is cheap to call.
 * With HS256 the set is empty and no key is read (the function is granted no secret); EdDSA/ES256
 * derive the public key from the private JWK, which needs `JwtSecret` granted in its spec.
 */
export const createApp = defineEdgeFunction(spec, (app, { config }) => {
  const jwks =
    config.jwt.algorithm === "HS256"
      ? Promise.resolve({ keys: [] })
      : createAccessTokens(accessTokenOptions(config)).then((tokens) => tokens.jwks());
  // A failed key import is reported by every request (as a 500 problem), not left unhandled.
  jwks.catch(() => {});
  app.openapi(route, async (c) => {
    c.header("Cache-Control", "public, max-age=300");
    return c.json(await jwks, 200);
  });
});

export const app = lazyApp(() => createApp(edgeContext(spec)));
export const handler = handle(app);
/** Web-standard entry (Cloudflare Workers, Deno, Bun): `export default { fetch }`. */
export default { fetch: (request: Request, env?: unknown) => app.fetch(request, env) };
