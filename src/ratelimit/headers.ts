/**
 * Response header fields for a rate-limit decision: the de-facto
 * `X-RateLimit-*` trio and the IETF draft fields of
 * draft-ietf-httpapi-ratelimit-headers in RFC 8941 structured-field syntax:
 *
 *   RateLimit-Policy: "default";q=100;w=60     (quota q per window w seconds)
 *   RateLimit: "default";r=42;t=17             (r units left, t seconds to reset)
 *
 * `t` and `X-RateLimit-Reset` are delta-seconds until the bucket is full
 * again (not an epoch time: no clock agreement needed). A refused decision
 * adds `Retry-After` (RFC 9110 §10.2.3): whole seconds until a retry of the
 * same cost is admitted, at least 1.
 */
import type { RateLimitPolicy } from "./policy.js";
import type { RateLimitDecision } from "./types.js";

/** Header names are lower case, as Node and Fastify store them. */
export function rateLimitHeaders(policy: RateLimitPolicy, decision: RateLimitDecision): Record<string, string> {
  const resetS = Math.ceil(decision.resetMs / 1000);
  // The policy name is validated to a token-safe alphabet, so it needs no sf-string escaping.
  const headers: Record<string, string> = {
    "x-ratelimit-limit": String(policy.limit),
    "x-ratelimit-remaining": String(decision.remaining),
    "x-ratelimit-reset": String(resetS),
    "ratelimit-policy": `"${policy.name}";q=${policy.limit};w=${Math.ceil(policy.windowMs / 1000)}`,
    ratelimit: `"${policy.name}";r=${decision.remaining};t=${resetS}`,
  };
  if (!decision.allowed) headers["retry-after"] = String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000)));
  return headers;
}
