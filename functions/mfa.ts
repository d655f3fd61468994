import { handle } from "hono/aws-lambda";
import {
  disableFactor,
  enableSms,
  enableTotp,
  MFA_ENROL_DEPS,
  MFA_READ_DEPS,
  regenerateRecoveryCodes,
  setupTotp,
} from "../shared/accounts/mfa-enrol";
import { defineAccountFunction } from "../shared/http/account-function";
import { formOrJsonBody } from "../shared/http/body-type";
import { lazyApp } from "../shared/http/function-app";
import {
  MfaDisableBody,
  MfaEnabledResponse,
  PasswordOnlyBody,
  RecoveryCodesResponse,
  TotpEnableBody,
  TotpSetupResponse,
} from "../shared/http/mfa-schemas";
import { defaultContext } from "../shared/wiring/context";
import { PASSWORD_HASHER } from "../shared/wiring/passwords";
import { spec } from "./mfa.endpoint";

/**
 * Second-factor enrolment for the caller's own account (issue #16 item 1; rules in
 * `shared/accounts/mfa-enrol.ts`). Every change takes the current `password` (JSON or form):
 * - `POST /{kind}/mfa/totp/setup` → `{secret, otpauth_uri}` (pending until confirmed);
 * - `POST /{kind}/mfa/totp/enable` `{code, password}` → `{methods, recovery_codes}`;
 * - `POST /{kind}/mfa/sms/enable` `{password}` → `{methods, recovery_codes}` (codes only when new);
 * - `POST /{kind}/mfa/disable` `{method, password, code}` → `{methods, recovery_codes: []}`;
 * - `POST /{kind}/mfa/recovery_codes` `{password}` → `{recovery_codes}` (the old set dies).
 * Enabling a factor signs out every session, this one included: log in again with the factor.
 */
export const createApp = defineAccountFunction(spec, (app, kit) => {
  const source = (c: { get(key: "clientAddress"): string }) => ({ clientAddress: c.get("clientAddress") });
  const enrol = () => kit.deps(...MFA_ENROL_DEPS);

  app.openapi(
    kit.route({
      method: "post",
      path: "/mfa/totp/setup",
      summary: "Start enrolling an authenticator app (TOTP)",
      responses: {
        200: {
          description: "Secret to add to the app; confirm with /mfa/totp/enable",
          content: { "application/json": { schema: TotpSetupResponse } },
        },
      },
    }),
    async (c) => {
      const setup = await setupTotp(await kit.deps(...MFA_READ_DEPS), c.get("principal"));
      return c.json({ secret: setup.secret, otpauth_uri: setup.otpauthUri }, 200);
    },
  );

  app.openapi(
    kit.route({
      method: "post",
      path: "/mfa/totp/enable",
      summary: "Confirm the authenticator app with a code (signs out every session)",
      request: { body: formOrJsonBody(TotpEnableBody) },
      responses: {
        200: {
          description: "Enabled; recovery codes shown once",
          content: { "application/json": { schema: MfaEnabledResponse } },
        },
      },
    }),
    async (c) => {
      const body = kit.body(c, { json: () => c.req.valid("json"), form: () => c.req.valid("form") });
      const done = await enableTotp(await enrol(), c.get("principal"), body.code, body.password, source(c));
      return c.json({ methods: done.methods, recovery_codes: done.recoveryCodes }, 200);
    },
  );

  app.openapi(
    kit.route({
      method: "post",
      path: "/mfa/sms/enable",
      summary: "Use SMS codes to the verified phone as a second factor (signs out every session)",
      request: { body: formOrJsonBody(PasswordOnlyBody) },
      responses: {
        200: {
          description: "Enabled; new recovery codes shown once",
          content: { "application/json": { schema: MfaEnabledResponse } },
        },
      },
    }),
    async (c) => {
      const body = kit.body(c, { json: () => c.req.valid("json"), form: () => c.req.valid("form") });
      const done = await enableSms(await enrol(), c.get("principal"), body.password, source(c));
      return c.json({ methods: done.methods, recovery_codes: done.recoveryCodes }, 200);
    },
  );

  app.openapi(
    kit.route({
      method: "post",
      path: "/mfa/disable",
      summary: "Remove a second factor (password and an authenticator or recovery code)",
      request: { body: formOrJsonBody(MfaDisableBody) },
      responses: {
        200: {
          description: "Removed; the methods still enrolled",
          content: { "application/json": { schema: MfaEnabledResponse } },
        },
      },
    }),
    async (c) => {
      const body = kit.body(c, { json: () => c.req.valid("json"), form: () => c.req.valid("form") });
      const done = await disableFactor(
        await enrol(),
        c.get("principal"),
        body.method,
        body.password,
        body.code,
        source(c),
      );
      return c.json({ methods: done.methods, recovery_codes: [] }, 200);
    },
  );

  app.openapi(
    kit.route({
      method: "post",
      path: "/mfa/recovery_codes",
      summary: "Replace the recovery codes with a fresh set",
      request: { body: formOrJsonBody(PasswordOnlyBody) },
      responses: {
        200: {
          description: "New codes, shown once; the old ones no longer work",
          content: { "application/json": { schema: RecoveryCodesResponse } },
        },
      },
    }),
    async (c) => {
      const body = kit.body(c, { json: () => c.req.valid("json"), form: () => c.req.valid("form") });
      const done = await regenerateRecoveryCodes(await enrol(), c.get("principal"), body.password, source(c));
      return c.json({ recovery_codes: done.recoveryCodes }, 200);
    },
  );
});

export const app = lazyApp(() => createApp(defaultContext(spec, PASSWORD_HASHER)));
export const handler = handle(app);
