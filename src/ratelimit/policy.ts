/**
 * Rate-limit policies: a token bucket per (policy, client) that holds `burst`
 * tokens and refills `limit` tokens per `windowMs`, and which client identity
 * it is keyed by. The built-in set comes from the configuration; a host app
 * registers its own by name, or declares one inline on a route (named after
 * the route, see inlinePolicyName).
 */
import { createHash } from "node:crypto";
import type { Config } from "../config/index.js";

export interface RateLimitPolicy {
  /** Name on the wire (`RateLimit-Policy: "<name>";...`) and in store keys. */
  readonly name: string;
  /** Tokens refilled per window: the sustained rate. */
  readonly limit: number;
  /** Window of `limit`, in milliseconds. */
  readonly windowMs: number;
  /** Bucket capacity: how many requests may arrive at once after a quiet spell. */
  readonly burst: number;
  /**
   * Whom the bucket belongs to: `principal` = the user or API key when the
   * request is authenticated, else the client IP; `ip` = always the client IP
   * (sign-in and sign-up, where the principal is what is being guessed).
   */
  readonly by: "principal" | "ip";
}

export interface PolicyInput {
  name: string;
  limit: number;
  windowMs: number;
  burst?: number;
  by?: "principal" | "ip";
}

// The name is emitted as an RFC 8941 sf-string and used inside store keys:
// a conservative alphabet needs no escaping in either place.
const NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

function positiveInteger(field: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new RangeError(`rate-limit policy ${field} must be an integer from 1 to ${max}, instead got ${String(value)}`);
  }
}

/** Validates and freezes a policy; errors name the field and the value received. */
export function definePolicy(input: PolicyInput): RateLimitPolicy {
  if (!NAME.test(input.name)) throw new RangeError(`rate-limit policy name must match ${NAME}, instead got '${input.name}'`);
  positiveInteger("limit", input.limit, 1_000_000_000);
  positiveInteger("windowMs", input.windowMs, 366 * 86_400_000);
  const burst = input.burst ?? input.limit;
  positiveInteger("burst", burst, 1_000_000_000);
  return Object.freeze({ name: input.name, limit: input.limit, windowMs: input.windowMs, burst, by: input.by ?? "principal" });
}

/**
 * Microseconds per token (the GCRA emission interval), rounded to a whole
 * microsecond so that both stores do exact integer arithmetic (the error is
 * below one microsecond per token).
 */
export function intervalUs(policy: RateLimitPolicy): number {
  return Math.max(1, Math.round((policy.windowMs * 1000) / policy.limit));
}

/** Throws a RangeError unless `cost` is a whole number of tokens a full bucket can hold. */
export function assertCost(policy: RateLimitPolicy, cost: number): void {
  if (!Number.isSafeInteger(cost) || cost < 1 || cost > policy.burst) {
    throw new RangeError(`rate-limit cost must be an integer from 1 to the burst of '${policy.name}' (${policy.burst}), instead got ${String(cost)}`);
  }
}

/** Names of the built-in policies. */
export const DEFAULT_POLICY = "default";
export const BUILT_IN_POLICIES: readonly string[] = Object.freeze([DEFAULT_POLICY, "login", "register", "forgot"]);

/** Prefix of the derived names of inline route policies; app policies may not use it. */
export const INLINE_POLICY_PREFIX = "route.";

/**
 * A policy of the host app: validated like any policy, and refused when its
 * name is a built-in one or uses the prefix reserved for inline policies
 * (either would silently share buckets and headers with another policy).
 */
export function defineAppPolicy(input: PolicyInput): RateLimitPolicy {
  if (BUILT_IN_POLICIES.includes(input.name)) {
    throw new RangeError(`rate-limit policy '${input.name}' clashes with a built-in policy (${BUILT_IN_POLICIES.join(", ")}); choose another name`);
  }
  if (input.name.startsWith(INLINE_POLICY_PREFIX)) {
    throw new RangeError(`rate-limit policy names starting with '${INLINE_POLICY_PREFIX}' are reserved for inline route policies, instead got '${input.name}'`);
  }
  return definePolicy(input);
}

/**
 * The name of a route's inline policy, stable across restarts and instances
 * (it is part of the store keys, shared through Redis, and of the headers):
 * `route.<method>.<path slug>.<6 hex of SHA-256("METHOD url")>`, e.g.
 * `route.post.v1-notes-id.4f1c2a` for `POST /v1/notes/:id`. The hash keeps
 * two routes whose slugs coincide (`/a/b`, `/a-b`) apart; the slug is cut to
 * keep the name within 64 characters.
 */
export function inlinePolicyName(method: string | readonly string[], url: string): string {
  const m = (typeof method === "string" ? [method] : [...method]).map((x) => x.toUpperCase()).sort().join(",");
  const hash = createHash("sha256").update(`${m} ${url}`).digest("hex").slice(0, 6);
  const slug = url.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "root";
  const head = `${INLINE_POLICY_PREFIX}${m.toLowerCase().replace(/,/g, "-")}.`;
  return `${head}${slug.slice(0, 64 - head.length - 7).replace(/-+$/, "")}.${hash}`;
}

type RateLimitConfig = Pick<Config, "rateLimitRequestsPerMinute" | "rateLimitLoginPerMinute" | "rateLimitRegisterPerMinute" | "rateLimitPasswordForgotPerMinute">;

/**
 * The built-in policies from the configuration: `default` per
 * principal, `login`, `register` and `forgot` (password forgot / reset) per client IP, each
 * per minute with a burst equal to the limit.
 */
export function policiesFromConfig(config: RateLimitConfig): RateLimitPolicy[] {
  const minute = 60_000;
  return [
    definePolicy({ name: DEFAULT_POLICY, limit: config.rateLimitRequestsPerMinute, windowMs: minute, by: "principal" }),
    definePolicy({ name: "login", limit: config.rateLimitLoginPerMinute, windowMs: minute, by: "ip" }),
    definePolicy({ name: "register", limit: config.rateLimitRegisterPerMinute, windowMs: minute, by: "ip" }),
    definePolicy({ name: "forgot", limit: config.rateLimitPasswordForgotPerMinute, windowMs: minute, by: "ip" }),
  ];
}
