/**
 * Fastify glue for rate limiting: one hook on every request, matched routes
 * and unknown ones (the 404 path runs the same hooks) alike. The policy comes
 * from the route's config: a named one (`config: { rateLimit: { policy: "login" } }`),
 * one declared inline (`{ limit: 5, windowMs: 60_000, by: "ip" }`, named after
 * the route by inlinePolicyName), else the default one; `rateLimit: false`
 * exempts a route. Unknown names fail when the route is registered, so at
 * start. Every limited response
 * carries the rate-limit headers; a refused one is `429 RATE_LIMITED` with
 * `Retry-After`, raised as a RampartError so it leaves through the error
 * envelope like every other failure.
 */
import fp from "fastify-plugin";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { requestKey } from "./client-key.js";
import { RateLimitedError, type RateLimiter, type RateLimitResult } from "./limiter.js";
import { assertCost, DEFAULT_POLICY, definePolicy, inlinePolicyName, type RateLimitPolicy } from "./policy.js";
import { routeConfigOf } from "../server/plugins/request-context.js";

/** Per-route setting naming a policy: `{ policy?, cost? }`. */
export interface NamedPolicyRouteConfig {
  /** Policy name (built-in or registered by the app); default the plugin's `defaultPolicy`. */
  policy?: string;
  /** Tokens one request takes (default 1). */
  cost?: number;
}

/** Per-route setting declaring the route's own policy, named after the route (inlinePolicyName). */
export interface InlinePolicyRouteConfig {
  policy?: never;
  limit: number;
  windowMs: number;
  burst?: number;
  by?: "principal" | "ip";
  /** Tokens one request takes (default 1). */
  cost?: number;
}

/** Per-route setting: a policy name, an inline policy, or `false` to exempt the route. */
export type RateLimitRouteConfig = NamedPolicyRouteConfig | InlinePolicyRouteConfig;

function isInline(rl: RateLimitRouteConfig): rl is InlinePolicyRouteConfig {
  return (rl as InlinePolicyRouteConfig).limit !== undefined || (rl as InlinePolicyRouteConfig).windowMs !== undefined;
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
  // Inline policy names by "METHOD url", computed once per route.
  const inlineNames = new Map<string, string>();
  const inlineName = (method: string | readonly string[], url: string): string => {
    const k = `${String(method)} ${url}`;
    let name = inlineNames.get(k);
    if (name === undefined) inlineNames.set(k, (name = inlinePolicyName(method, url)));
    return name;
  };
  app.addHook("onRoute", (route) => {
    const rl = route.config?.rateLimit;
    if (!rl) return;
    if (isInline(rl)) {
      if ((rl as NamedPolicyRouteConfig).policy !== undefined) throw new RangeError(`rate-limit config of ${String(route.method)} ${route.url} names a policy and declares one inline; give one or the other`);
      const name = inlineName(route.method, route.url ?? route.path);
      try {
        limiter.define(definePolicy({ name, limit: rl.limit, windowMs: rl.windowMs, ...(rl.burst !== undefined ? { burst: rl.burst } : {}), ...(rl.by ? { by: rl.by } : {}) }));
      } catch (err) {
        throw new RangeError(`inline rate-limit policy of ${String(route.method)} ${route.url}: ${(err as Error).message}`, { cause: err });
      }
      assertCost(limiter.policy(name), rl.cost ?? 1);
    } else {
      assertCost(limiter.policy(rl.policy ?? defaultPolicy), rl.cost ?? 1);
    }
  });

  const apply = (result: RateLimitResult, reply: FastifyReply, done: (err?: Error) => void): void => {
    if (!result.decision.allowed) return done(new RateLimitedError(result.policy.name, result.headers));
    reply.headers(result.headers);
    done();
  };
  // A callback hook: the memory store decides without a promise (consumeNow), Redis with one.
  const limit = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void => {
    const route = routeConfigOf(request);
    const rl = route.rateLimit;
    if (rl === false || opts.skip?.(request)) return done();
    let name: string;
    let key: string;
    try {
      name = !rl ? defaultPolicy : isInline(rl) ? inlineName(route.method ?? request.method, route.url ?? "") : (rl.policy ?? defaultPolicy);
      key = keyFor(request, limiter.policy(name));
      const now = limiter.consumeNow(name, key, rl?.cost ?? 1);
      if (now) return apply(now, reply, done);
    } catch (err) {
      return done(err as Error);
    }
    limiter.consume(name, key, rl?.cost ?? 1).then((result) => apply(result, reply, done), done);
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
