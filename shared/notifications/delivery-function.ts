import { lazy } from "../async";
import type { Config } from "../config/schema";
import { ConfigError } from "../errors";
import type { FunctionContext } from "../http/context";
import type { EndpointSpec } from "../http/endpoint";
import { type CreateApp, defineFunction } from "../http/function-app";
import { requireQstashSignature } from "../http/signature-guard";
import type { QueueTopic, SendResult } from "../ports/notifications";
import { consumeDelivery, deliveryResponse } from "./consume";
import type { Notification } from "./messages";

/** Sends one accepted notification; `notificationId` is the provider idempotency key. */
export type NotificationSender<M extends Notification> = (
  message: M,
  notificationId: string,
) => Promise<SendResult>;

/** Options of {@link defineDeliveryFunction}. */
export interface DeliveryFunctionOptions<M extends Notification> {
  /** The queue topic it consumes; the route is `POST /jobs/<topic>`. */
  topic: QueueTopic;
  /** Which notifications it delivers (narrows the type for `createSender`). */
  accepts(message: Notification): message is M;
  /**
   * Names the missing variables the provider needs (e.g. `["RESEND_API_KEY"]`), checked at cold
   * start; an empty list when configured.
   */
  missingProviderConfig(config: Config): string[];
  /**
   * Builds the provider sender, once per cold start, on the first verified delivery (so the
   * provider SDK is loaded only when there is something to send). Import the SDK adapter
   * dynamically inside it to keep it out of every other function.
   */
  createSender(ctx: FunctionContext): Promise<NotificationSender<M>>;
}

/**
 * Defines a background delivery function (`notify-email`, `notify-sms`): `POST /jobs/<topic>`,
 * called by QStash, answered by {@link consumeDelivery}. The body is read raw with
 * `c.req.text()` (no parsing, no schema) because the signature covers its exact bytes, and it is
 * verified against the configured public URL `${APP_URL}/jobs/<topic>`, never `c.req.url` (behind a
 * Lambda function URL that names the lambda-url host: protocols.md §2), by the shared signature
 * guard (`requireQstashSignature`: per-address limit and aggregated audit of rejections).
 *
 * Misconfiguration fails loudly, never as a silent success: at cold start a missing signing key or
 * provider variable is logged as an error naming each variable (`code: "provider_not_configured"`),
 * and every delivery then answers 500 (QStash retries, then dead-letters) until it is fixed. In
 * production `shared/config` already refuses to start without them.
 *
 * @returns `createApp(ctx)`.
 */
export function defineDeliveryFunction<M extends Notification>(
  spec: Pick<EndpointSpec, "name">,
  options: DeliveryFunctionOptions<M>,
): CreateApp {
  return defineFunction(spec, (app, ctx) => {
    const { config } = ctx;
    const name = spec.name;
    const url = `${config.appUrl}/jobs/${options.topic}`;
    const missingSigning = [
      ...(config.qstash.currentSigningKey ? [] : ["QSTASH_CURRENT_SIGNING_KEY"]),
      ...(config.qstash.nextSigningKey ? [] : ["QSTASH_NEXT_SIGNING_KEY"]),
    ];
    const missingProvider = options.missingProviderConfig(config);
    const notConfigured = (names: string[]) =>
      new ConfigError(names.map((n) => `${n}: required by ${name} (not set)`));
    if (missingSigning.length + missingProvider.length > 0) {
      ctx.log.error(`${name} cannot deliver: configuration missing`, {
        event: "config_error",
        function: name,
        code: "provider_not_configured",
        reason: [...missingSigning, ...missingProvider].join(","),
      });
    }

    // The context's verifier throws a ConfigError naming a missing signing key (→ 500: QStash retries).
    const verifier = () => ctx.qstashVerifier();
    const sender = lazy(async () => {
      if (missingProvider.length > 0) throw notConfigured(missingProvider);
      return options.createSender(ctx);
    });

    app.post(`/jobs/${options.topic}`, requireQstashSignature({ ctx, url, verifier }), async (c) => {
      const rawBody = await c.req.text();
      const retried = Number.parseInt(c.req.header("upstash-retried") ?? "0", 10);
      const result = await consumeDelivery(
        {
          kv: ctx.kv(),
          ring: await ctx.keyRing(),
          accepts: options.accepts,
          send: async (message, id) => (await sender())(message, id),
          log: c.get("log"),
        },
        {
          rawBody,
          messageId: c.req.header("upstash-message-id"),
          retried: Number.isInteger(retried) && retried >= 0 ? retried : 0,
        },
      );
      return deliveryResponse(result, c.get("requestId"));
    });
  });
}
