import { handle } from "hono/aws-lambda";
import { MFA_READ_DEPS, mfaStatus } from "../shared/accounts/mfa-enrol";
import { defineAccountFunction } from "../shared/http/account-function";
import { lazyApp } from "../shared/http/function-app";
import { MfaStatusResponse } from "../shared/http/mfa-schemas";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./mfa-status.endpoint";

/** `GET /{kind}/mfa`: the caller's enrolled second-factor methods and how many recovery codes remain. */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const route = kit.route({
    method: "get",
    path: "/mfa",
    summary: "Show your second-factor methods",
    responses: {
      200: {
        description: "Enrolled methods",
        content: { "application/json": { schema: MfaStatusResponse } },
      },
    },
  });
  app.openapi(route, async (c) => {
    const status = await mfaStatus(await kit.deps(...MFA_READ_DEPS), c.get("principal"));
    return c.json(
      {
        methods: status.methods,
        recovery_codes_remaining: status.recoveryCodesRemaining,
        totp_pending: status.totpPending,
      },
      200,
    );
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
