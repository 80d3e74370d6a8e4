/**
 * Fastify glue for inbound webhooks.
 *
 * `rawBodyParser` makes every body in the scope it is registered in arrive as
 * the exact bytes received (a Buffer), whatever its content type: signatures
 * cover bytes, and a parse / re-serialize round trip would break them. It is
 * wrapped with fastify-plugin so it applies to the scope that registers it,
 * and only there: register it inside an encapsulated plugin, never on the root.
 *
 * `webhooksPlugin` is such a scope: `POST /:name` (mount it with a prefix,
 * e.g. `/v1/webhooks`) looks up the endpoint, verifies the delivery with its
 * provider's verifier and active secrets, and hands the verified delivery to
 * `onEvent` (the inbox). A failed verification is logged with its reason and
 * answered `400 WEBHOOK_SIGNATURE_INVALID`, nothing more.
 */
import fp from "fastify-plugin";
import { Type } from "@sinclair/typebox";
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyPluginCallback, FastifyRequest } from "fastify";
import { RampartError } from "../errors/index.js";
import { traceIdOf } from "../server/plugins/request-context.js";
import { webhookVerifiers } from "./providers.js";
import { WebhookVerificationError, type VerifiedWebhook, type WebhookFailureReason, type WebhookProvider } from "./verification.js";

export interface RawBodyOptions {
  /** Largest accepted body in bytes (default: the server's BODY_LIMIT_BYTES). */
  bodyLimit?: number;
}

const rawBody: FastifyPluginCallback<RawBodyOptions> = (app, opts, done) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", ...(opts.bodyLimit !== undefined ? { bodyLimit: opts.bodyLimit } : {}) }, (_request, body, next) => next(null, body));
  done();
};

/** Bodies of every content type arrive as a Buffer in the registering scope. */
export const rawBodyParser = fp(rawBody, { name: "rampart-webhook-raw-body", fastify: "5.x" });

/** The raw body of a request in a `rawBodyParser` scope (empty when none was sent). */
export function rawBodyOf(request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

export interface WebhookEndpoint {
  provider: WebhookProvider;
  /** The active secret(s): one value, or several separated by newlines during a rotation. */
  secrets: () => Promise<string | readonly string[]> | string | readonly string[];
}

/** A verified delivery as the inbox receives it. */
export interface WebhookDelivery extends VerifiedWebhook {
  endpoint: string;
  rawBody: Buffer;
}

export interface WebhookRejection {
  endpoint: string;
  provider: WebhookProvider;
  reason: WebhookFailureReason;
  detail: string;
  ip: string;
  traceId: string;
}

export interface WebhooksPluginOptions {
  /** Endpoint by name (the `:name` path segment); undefined = 404. */
  endpoint: (name: string) => WebhookEndpoint | undefined;
  /** Stores the delivery; returns whether it had been received before. Runs before the 2xx is sent. */
  onEvent: (delivery: WebhookDelivery, request: FastifyRequest) => Promise<{ duplicate: boolean }> | { duplicate: boolean };
  /** Called for every rejected signature (security events). */
  onRejected?: (rejection: WebhookRejection) => void;
  /** Where rejections are logged (default the app's logger, i.e. the runtime's). */
  log?: FastifyBaseLogger;
  /** Epoch ms; default Date.now (pass the runtime clock). */
  now?: () => number;
  /** Timestamp tolerance either way, seconds (default 300). */
  toleranceSec?: number;
  bodyLimit?: number;
}

const Params = Type.Object({ name: Type.String({ pattern: "^[a-z0-9][a-z0-9_-]{0,63}$", maxLength: 64 }) }, { additionalProperties: false });
// The success envelope of docs/architecture.md, spelled out here: capability plugins do not import the server layer above them.
const Receipt = Type.Object(
  { success: Type.Literal(true), data: Type.Object({ received: Type.Literal(true), duplicate: Type.Boolean() }, { additionalProperties: false }), traceId: Type.String() },
  { additionalProperties: false },
);

/** `POST /:name`: verify, then hand to the inbox. Register with a prefix, not wrapped (its parser stays inside). */
export const webhooksPlugin: FastifyPluginAsync<WebhooksPluginOptions> = async (app, opts) => {
  await app.register(rawBodyParser, opts.bodyLimit !== undefined ? { bodyLimit: opts.bodyLimit } : {});
  app.post<{ Params: { name: string } }>(
    "/:name",
    {
      // The body is authenticated byte for byte, not schema-validated (src/server/route-schemas.ts).
      config: { rawBody: true },
      schema: {
        tags: ["webhooks"],
        summary: "Receive a signed webhook delivery",
        params: Params,
        // The body is the provider's payload as raw bytes; it is authenticated, not schema-validated.
        body: Type.Unknown({ description: "The provider's payload, verified byte for byte against its signature." }),
        response: { 200: Receipt },
      },
    },
    async (request) => {
      const name = request.params.name;
      const endpoint = opts.endpoint(name);
      if (!endpoint) throw new RampartError("NOT_FOUND", { message: "No webhook endpoint of this name." });
      const body = rawBodyOf(request);
      let verified: VerifiedWebhook;
      try {
        verified = webhookVerifiers[endpoint.provider]({ rawBody: body, headers: request.headers }, { secrets: await endpoint.secrets(), now: (opts.now ?? Date.now)(), ...(opts.toleranceSec !== undefined ? { toleranceSec: opts.toleranceSec } : {}) });
      } catch (err) {
        if (err instanceof WebhookVerificationError) {
          const rejection: WebhookRejection = { endpoint: name, provider: endpoint.provider, reason: err.reason, detail: err.detail, ip: request.ip, traceId: traceIdOf(request) };
          (opts.log ?? app.log).warn(rejection, "webhook signature rejected");
          opts.onRejected?.(rejection);
        }
        throw err;
      }
      const { duplicate } = await opts.onEvent({ ...verified, endpoint: name, rawBody: body }, request);
      return { success: true as const, data: { received: true as const, duplicate }, traceId: traceIdOf(request) };
    },
  );
};
