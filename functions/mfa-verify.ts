import type { Context } from "hono";
import { handle } from "hono/aws-lambda";
import {
  challengeSms,
  MFA_CHALLENGE_DEPS,
  MFA_VERIFY_DEPS,
  type MfaRequestSource,
  verifySecondFactor,
} from "../shared/accounts/mfa-login";
import { MFA_TOKEN_TTL_SECONDS } from "../shared/accounts/mfa-tokens";
import { type AccountEnv, defineAccountFunction, tokenBody } from "../shared/http/account-function";
import { MessageResponse, TokenResponse } from "../shared/http/account-schemas";
import { formOrJsonBody } from "../shared/http/body-type";
import { lazyApp } from "../shared/http/function-app";
import { MfaChallengeBody, MfaVerifyBody } from "../shared/http/mfa-schemas";
import { defaultContext } from "../shared/wiring/context";
import { spec } from "./mfa-verify.endpoint";

/**
 * The login's second step (rules in `shared/accounts/mfa-login.ts`), with the `mfa_token` of a
 * `403 mfa_required` login answer (JSON or form):
 * - `POST /{kind}/mfa/challenge` `{mfa_token, method: "sms"}` → `202`: a code is sent by SMS;
 * - `POST /{kind}/mfa/verify` `{mfa_token, method, code}` → the usual token response.
 */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  /** The client address, and the account the token names as the audit actor (failures included). */
  const source = (c: Context<AccountEnv>): MfaRequestSource => ({
    clientAddress: c.get("clientAddress"),
    identified: (userId) => c.set("auditActor", userId),
  });
  const challenge = kit.route({
    method: "post",
    path: "/mfa/challenge",
    summary: "Send an SMS code for a pending login",
    request: { body: formOrJsonBody(MfaChallengeBody) },
    responses: {
      202: { description: "SMS queued", content: { "application/json": { schema: MessageResponse } } },
    },
  });
  app.openapi(challenge, async (c) => {
    const body = kit.body(c, { json: () => c.req.valid("json"), form: () => c.req.valid("form") });
    await challengeSms(await kit.deps(...MFA_CHALLENGE_DEPS), kit.kind, body.mfa_token, source(c));
    return c.json(
      { message: `Code sent by SMS; it expires with the MFA token (${MFA_TOKEN_TTL_SECONDS} s)` },
      202,
    );
  });

  const verify = kit.route({
    method: "post",
    path: "/mfa/verify",
    summary: "Finish a login with a second-factor code",
    request: { body: formOrJsonBody(MfaVerifyBody) },
    responses: {
      200: { description: "Access token issued", content: { "application/json": { schema: TokenResponse } } },
    },
  });
  app.openapi(verify, async (c) => {
    const body = kit.body(c, { json: () => c.req.valid("json"), form: () => c.req.valid("form") });
    const session = await verifySecondFactor(
      await kit.deps(...MFA_VERIFY_DEPS),
      kit.kind,
      body.mfa_token,
      body.method,
      body.code,
      source(c),
    );
    return c.json(tokenBody(session), 200);
  });
});

export const app = lazyApp(() => createApp(defaultContext(spec)));
export const handler = handle(app);
