import { ALL_SECRETS } from "../shared/config/secrets";
import { defineEndpoint } from "../shared/http/endpoint";

/** Public signing keys: `GET /.well-known/jwks.json`. Web APIs only (jose): an `edge` function. */
export const spec = defineEndpoint({
  name: "jwks",
  routes: [{ method: "GET", path: "/.well-known/jwks.json" }],
  auth: "none",
  runtime: "edge",
  memoryMB: 128,
  timeoutSeconds: 5,
  secrets: ALL_SECRETS,
});
