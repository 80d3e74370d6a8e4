/**
 * Fastify glue of response compression (the rule: src/http/compress.ts):
 * @fastify/compress on the routes declared `config: { compress: true }`,
 * per Accept-Encoding (br, gzip, deflate), at or above
 * COMPRESSION_THRESHOLD_BYTES, never on an answer that sets a cookie.
 *
 * Every other route gets `compress: false`, so @fastify/compress adds no hook
 * to it: no per-request cost outside the opted-in routes. Compressed request
 * bodies are not accepted (no decompression hook, so the body limit bounds
 * what is parsed). Partial content (206, Content-Range), bodies already
 * encoded and types that are not text or JSON (a zip) are left alone by
 * @fastify/compress; a HEAD answer carries the headers without a body.
 */
import fastifyCompress from "@fastify/compress";
import type { FastifyInstance, FastifyPluginAsync, onSendHookHandler, RouteOptions } from "fastify";
import fp from "fastify-plugin";
import { COMPRESSION_ENCODINGS, mustNotCompress, varyWithAcceptEncoding, type CompressionOptions } from "../../http/compress.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * `true`: the response may be compressed (br, gzip, deflate) when the
     * client accepts it and it is at least COMPRESSION_THRESHOLD_BYTES long.
     * Only for responses that never carry a secret (token, key, code, reset
     * link): see docs/security.md, "Response compression".
     */
    compress?: boolean;
  }
}

export type CompressionPluginOptions = CompressionOptions;

const hooksOf = (hooks: RouteOptions["onSend"]): onSendHookHandler[] => (hooks === undefined ? [] : Array.isArray(hooks) ? [...hooks] : [hooks]) as onSendHookHandler[];

const plugin: FastifyPluginAsync<CompressionPluginOptions> = async (app, opts) => {
  if (!opts.enabled) return;
  if (app.hasReplyDecorator("compress")) {
    throw new TypeError("rampart: @fastify/compress is already registered on this app; set COMPRESSION_ENABLED=false to keep your own (and keep it off responses that carry secrets)");
  }
  // Routes that opted in, with the number of onSend hooks they had before @fastify/compress added its own.
  const opted = new WeakMap<RouteOptions, number>();
  app.addHook("onRoute", (route) => {
    // A route that configures @fastify/compress itself keeps that configuration.
    if (route.compress !== undefined) return;
    if (route.config?.compress === true) opted.set(route, hooksOf(route.onSend).length);
    else route.compress = false;
  });
  await app.register(fastifyCompress, { global: true, globalDecompression: false, threshold: opts.thresholdBytes, encodings: [...COMPRESSION_ENCODINGS] });
  // Runs right after @fastify/compress's onRoute hook: the one onSend hook it appended is wrapped.
  app.addHook("onRoute", (route) => {
    const before = opted.get(route);
    if (before === undefined) return;
    const hooks = hooksOf(route.onSend);
    if (hooks.length !== before + 1) throw new Error(`rampart: expected @fastify/compress to add one onSend hook to ${String(route.method)} ${route.url}, found ${hooks.length - before}`);
    const compress = hooks[before]!;
    hooks[before] = function guarded(this: FastifyInstance, request, reply, payload, done) {
      // The answer depends on Accept-Encoding whether or not this one is compressed.
      reply.header("vary", varyWithAcceptEncoding(reply.getHeader("vary")));
      if (mustNotCompress(reply)) return done(null, payload);
      return compress.call(this, request, reply, payload, done);
    } satisfies onSendHookHandler;
    route.onSend = hooks;
  });
};

/**
 * Compression of the responses of routes declared `config: { compress: true }`
 * (see src/http/compress.ts for why only those). Register it before the routes.
 */
export const compressionPlugin = fp(plugin, { name: "rampart-compression", fastify: "5.x" });
