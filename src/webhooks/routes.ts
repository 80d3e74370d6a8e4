/**
 * Fastify glue of inbound webhooks for the composed server:
 *
 * - decorates the app with `webhooks` (the service: `app.webhooks.on(name, handler)`),
 * - `POST <basePath>/webhooks/:name` (the verifying route of plugin.ts, its
 *   inbox the service's), bad signatures also emitted as `webhook.rejected`,
 * - `GET <basePath>/admin/webhooks` (`webhooks:read`) and
 *   `POST <basePath>/admin/webhooks/:id/replay` (`webhooks:write`).
 *
 * Dispatch polling stops when the app closes.
 */
import fp from "fastify-plugin";
import { Type } from "@sinclair/typebox";
import type { FastifyPluginAsync } from "fastify";
import { guard, principalOf } from "../auth/plugin.js";
import type { Runtime } from "../runtime/index.js";
import { Envelope, ok } from "../server/envelope.js";
import type { ListQuery } from "./inbox.js";
import { webhooksPlugin } from "./plugin.js";
import { ListWebhooksQuery, WebhookEventSchema, WebhookIdParams } from "./schemas.js";
import { createWebhooks, type Webhooks, type WebhooksOptions } from "./service.js";

declare module "fastify" {
  interface FastifyInstance {
    webhooks: Webhooks;
  }
}

export interface WebhookRoutesOptions {
  runtime: Runtime;
  /** An existing service (else one is built from the runtime and closed with the app). */
  webhooks?: Webhooks;
  /** Options of the service built here. */
  service?: WebhooksOptions;
  /** Path the routes live under (default `/v1`). */
  basePath?: string;
}

const tags = ["webhooks"];
const security = [{ bearer: [] }];

const adminRoutes: FastifyPluginAsync<{ runtime: Runtime; webhooks: Webhooks }> = async (app, { runtime, webhooks }) => {
  app.get(
    "/admin/webhooks",
    {
      preHandler: guard("webhooks:read"),
      schema: {
        tags,
        security,
        summary: "Inbound webhook events and their dispatch states, newest first",
        querystring: ListWebhooksQuery,
        response: { 200: Envelope(Type.Object({ events: Type.Array(WebhookEventSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: false })) },
      },
    },
    async (request) => ok(request, await webhooks.inbox.list(request.query as ListQuery)),
  );
  app.post(
    "/admin/webhooks/:id/replay",
    {
      config: { noBody: true },
      preHandler: guard("webhooks:write"),
      schema: { tags, security, summary: "Dispatch an event again (fresh attempt budget)", params: WebhookIdParams, response: { 200: Envelope(Type.Object({ event: WebhookEventSchema }, { additionalProperties: false })) } },
    },
    async (request) => {
      const event = await webhooks.inbox.requeue((request.params as { id: string }).id);
      await runtime.events.emit("webhook.replayed", { actor: { type: "admin", id: principalOf(request).userId }, target: `webhook-event:${event.id}`, data: { endpoint: event.endpoint, eventId: event.eventId } });
      webhooks.dispatcher.kick();
      return ok(request, { event });
    },
  );
};

const plugin: FastifyPluginAsync<WebhookRoutesOptions> = async (app, opts) => {
  const { runtime } = opts;
  const base = opts.basePath ?? "/v1";
  const webhooks = opts.webhooks ?? createWebhooks(runtime, opts.service);
  if (!opts.webhooks) app.addHook("onClose", () => webhooks.close());
  app.decorate("webhooks", webhooks);
  await app.register(webhooksPlugin, {
    prefix: `${base}/webhooks`,
    endpoint: (name) => webhooks.endpoint(name),
    onEvent: (delivery, request) => {
      // Unsigned: the inbox keeps it as GitHub's type hint and never keys on it.
      const typeHeader = delivery.provider === "github" ? request.headers["x-github-event"] : undefined;
      return webhooks.receive({ ...delivery, ...(typeof typeHeader === "string" ? { typeHeader } : {}) });
    },
    onRejected: (r) => {
      void runtime.events
        .emit("webhook.rejected", { actor: { type: "anonymous" }, target: `webhook-endpoint:${r.endpoint}`, data: { provider: r.provider, reason: r.reason } })
        .catch((err: unknown) => runtime.log.error({ err }, "webhook.rejected event failed"));
    },
    log: runtime.log,
    now: () => runtime.clock.now(),
  });
  await app.register(adminRoutes, { prefix: base, runtime, webhooks });
};

/** Inbound webhooks and their admin routes; register once on the root (after the auth plugin). */
export const webhookRoutes = fp(plugin, { name: "rampart-webhooks", fastify: "5.x", dependencies: ["rampart-auth"] });
