/**
 * Fastify glue for rate limiting: one hook on every request, matched routes
 * and unknown ones (the 404 path runs the same hooks) alike. The policy comes
 * from the route's config (`config: { rateLimit: { policy: "login" } }`), else
 * the default one; `rateLimit: false` exempts a route. Every limited response
 * carries the rate-limit headers; a refused one is `429 RATE_LIMITED` with
 * `Retry-After`, raised as a RampartError so it leaves through the error
 * envelope like every other failure.
 */
import fp from "fastify-plugin";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { RampartError } from "../errors/index.js";
import { requestKey } from "./client-key.js";
import type { RateLimiter } from "./limiter.js";
import { assertCost, DEFAULT_POLICY, type RateLimitPolicy } from "./policy.js";

/** Per-route setting: `{ policy?, cost? }`, or `false` to exempt the route. */
export interface RateLimitRouteConfig {
  /** Policy name; default the plugin's `defaultPolicy`. */
  policy?: string;
  /** Tokens one request takes (default 1). */
  cost?: number;
}

declare module "fastify" {
  interface FastifyContextConfig {
    rateLimit?: RateLimitRouteConfig | false;
  }
}

export interface RateLimitPluginOptions {
  limiter: RateLimiter;
  /** RATE_LIMIT_ENABLED: when false the plugin adds no hook at all (default true). */
  enabled?: boolean;
  /** Policy of routes without one, and of unknown routes (default `default`). */
  defaultPolicy?: string;
  /**
   * The bucket key of a request under a policy. Default: `u:<request.ctx.userId>`
   * when the policy is keyed by principal and a user is known, else
   * `ip:<client IP, IPv6 by /64>`.
   */
  keyFor?: (request: FastifyRequest, policy: RateLimitPolicy) => string;
  /** Requests to leave alone (e.g. load-balancer health probes). */
  skip?: (request: FastifyRequest) => boolean;
  /**
   * `onRequest` (default) refuses before the body is read; `preHandler` runs
   * after authentication hooks of that stage, for principal keys set there.
   */
  hook?: "onRequest" | "preHandler";
}

function defaultKeyFor(request: FastifyRequest, policy: RateLimitPolicy): string {
  return requestKey(policy.by, request.ip, request.ctx?.userId);
}

const plugin: FastifyPluginAsync<RateLimitPluginOptions> = async (app, opts) => {
  if (opts.enabled === false) return;
  const { limiter } = opts;
  const defaultPolicy = opts.defaultPolicy ?? DEFAULT_POLICY;
  const keyFor = opts.keyFor ?? defaultKeyFor;
  // Fail at start-up, not on the first request, on a policy that does not exist
  // or a cost its bucket can never hold.
  limiter.policy(defaultPolicy);
  app.addHook("onRoute", (route) => {
    const rl = route.config?.rateLimit;
    if (rl) assertCost(limiter.policy(rl.policy ?? defaultPolicy), rl.cost ?? 1);
  });

  const limit = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const rl = request.routeOptions.config?.rateLimit;
    if (rl === false || opts.skip?.(request)) return;
    const policy = limiter.policy(rl?.policy ?? defaultPolicy);
    const result = await limiter.consume(policy.name, keyFor(request, policy), rl?.cost ?? 1);
    if (!result.decision.allowed) throw new RampartError("RATE_LIMITED", { headers: result.headers });
    reply.headers(result.headers);
  };
  if (opts.hook === "preHandler") app.addHook("preHandler", limit);
  else app.addHook("onRequest", limit);
};

/**
 * Rate limiting for every route of the app it is registered on. Register it
 * after the request-context plugin (it reads `request.ctx`) and after
 * authentication when principal keys are wanted.
 */
export const rateLimitPlugin = fp(plugin, { name: "rampart-rate-limit", fastify: "5.x", dependencies: ["rampart-request-context"] });
