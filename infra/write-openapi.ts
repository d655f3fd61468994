/**
 * `npm run openapi`: writes the API's OpenAPI 3.1 document to `.build/openapi.json` (or the path
 * given as the first argument), which the deployed docs function serves (SST copies it into that
 * function's bundle), and the route table to `routes.json` beside it, which the `$default`
 * function reads to answer 405 with `Allow`. Run before `sst deploy`, with the deployment's `USER_KINDS`, `APP_NAME` and
 * `APP_URL` in the environment.
 *
 * Only route definitions are read, so the function apps are built from a throwaway configuration:
 * secrets absent from the environment are replaced by random ones that never leave this process,
 * and nothing connects anywhere.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseConfig } from "../shared/config/schema";
import type { FunctionContext } from "../shared/http/context";
import { createContext } from "../shared/wiring/context";
import { buildManifest, routeTableOf } from "./functions";
import { buildOpenApiDocument } from "./openapi";

const out = process.argv[2] ?? ".build/openapi.json";
const env = {
  JWT_SECRET: randomBytes(48).toString("base64url"),
  ENCRYPTION_KEY: randomBytes(32).toString("base64"),
  EMAIL_SALT: randomBytes(32).toString("base64url"),
  ...process.env,
  ENVIRONMENT: "development",
  LOG_LEVEL: "silent",
};
const config = parseConfig(env);
const context: FunctionContext = createContext(config, {
  apiDocument: () =>
    buildOpenApiDocument({
      title: config.appName,
      serverUrl: config.appUrl,
      userKinds: config.userKinds,
      context,
    }),
});
const document = await context.apiDocument();
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(document, null, 2)}\n`);
console.log(
  `wrote ${out}: ${Object.keys(document.paths ?? {}).length} paths for ${config.userKinds.join(", ")}`,
);
// The route table of the `$default` function (405 with `Allow` for a known path), beside it.
const routesOut = join(dirname(out), "routes.json");
const routes = routeTableOf(await buildManifest(config.userKinds));
writeFileSync(routesOut, `${JSON.stringify(routes, null, 2)}\n`);
console.log(`wrote ${routesOut}: ${routes.length} routes`);
