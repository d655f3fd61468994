import { defineEndpoint } from "../shared/http/endpoint";

/**
 * Public signing keys: `GET /.well-known/jwks.json`. Web APIs only (jose): an `edge` function. No
 * secret: with HS256 (the default) there is no public key to publish.
 */
export const spec = defineEndpoint({
  name: "jwks",
  routes: [{ method: "GET", path: "/.well-known/jwks.json" }],
  auth: "none",
  runtime: "edge",
  memoryMB: 128,
  timeoutSeconds: 5,
  secrets: [],
});
