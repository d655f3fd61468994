/// <reference path="./.sst/platform/config.d.ts" />

/**
 * SST v4 app: a thin loop over the function manifest (`infra/functions.ts`). Each manifest entry
 * becomes one `sst.aws.Function` on the newest Node runtime SST offers; one HTTP API (API Gateway
 * v2) is the only way in: exact `METHOD /path` routes from the manifest, and a `$default` route to
 * the function marked `gatewayDefault` (404 problem+json, like the local server). No function URLs
 * (`url: false`): they would be a second, unauthenticated door with CORS `*` around the gateway.
 * Secrets are `sst.Secret`s, each `link`ed only to the functions whose manifest entry lists it
 * (encrypted into the bundle's `resource.enc`, read with `Resource.<Name>.value` from `sst`), never
 * plain environment variables.
 *
 * Deploy: `npx sst secret set JwtSecret … --stage production` for each secret, then
 * `npx sst deploy --stage production`, then `npm run schedules:sync` (the scheduled jobs' QStash
 * schedules, from the manifest's `schedule`s: SST has no QStash component; see README "Deploy").
 */
export default $config({
  app(input) {
    return {
      name: "serverless-auth",
      home: "aws",
      removal: input?.stage === "production" ? "retain" : "remove",
      protect: input?.stage === "production",
    };
  },
  async run() {
    // SST requires imports inside run().
    const manifestModule = await import("./infra/functions");
    const { buildManifest, LAMBDA_NODE_RUNTIME, LAMBDA_NODEJS_BUILD, SECRET_ENV } = manifestModule;
    const manifest = await buildManifest();
    const secrets = Object.fromEntries(
      Object.keys(SECRET_ENV).map((name) => [name, new sst.Secret(name)]),
    ) as Record<keyof typeof SECRET_ENV, sst.Secret>;
    // Preflights are answered by API Gateway (they never reach a function): the same origin list
    // the functions use, and no CORS at all when none is configured (SST's default would allow `*`).
    const corsOrigins = (process.env.CORS_ORIGINS ?? "")
      .split(",")
      .map((o) => o.trim())
      .filter((o) => o !== "" && o !== "*");
    const api = new sst.aws.ApiGatewayV2("Api", {
      cors:
        corsOrigins.length > 0
          ? {
              allowOrigins: corsOrigins,
              allowHeaders: ["authorization", "content-type", "x-request-id"],
              allowMethods: ["GET", "POST", "PUT", "DELETE"],
              exposeHeaders: [
                "x-request-id",
                "retry-after",
                "ratelimit-limit",
                "ratelimit-remaining",
                "ratelimit-reset",
              ],
              maxAge: "10 minutes",
            }
          : false,
    });
    const plain = {
      ENVIRONMENT: $app.stage === "production" ? "production" : "staging",
      USER_KINDS: process.env.USER_KINDS ?? "User1,User2",
      APP_NAME: process.env.APP_NAME ?? "Auth Service",
      MAIL_FROM: process.env.MAIL_FROM ?? "no-reply@example.com",
      TWILIO_NUMBER: process.env.TWILIO_NUMBER ?? "",
      // Mail links and QStash destinations (`${APP_URL}/jobs/email|sms`) go through the gateway:
      // its URL unless a custom domain in front of it is given.
      APP_URL: process.env.APP_URL || api.url,
      ...(corsOrigins.length > 0 ? { CORS_ORIGINS: corsOrigins.join(",") } : {}),
    };
    for (const fn of manifest) {
      const lambda = new sst.aws.Function(fn.name, {
        handler: `${fn.module}.handler`,
        runtime: LAMBDA_NODE_RUNTIME,
        architecture: "arm64",
        memory: `${fn.memoryMB} MB`,
        timeout: `${fn.timeoutSeconds} seconds`,
        url: false,
        environment: plain,
        link: fn.secrets.map((s) => secrets[s]),
        nodejs: { install: [...(fn.nodeInstall ?? [])], ...LAMBDA_NODEJS_BUILD },
        copyFiles: [...(fn.copyFiles ?? [])],
      });
      for (const route of fn.routes) api.route(`${route.method} ${route.path}`, lambda.arn);
      if (fn.gatewayDefault) api.route("$default", lambda.arn);
    }
    return { api: api.url };
  },
});
