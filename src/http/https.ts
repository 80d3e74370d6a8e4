/**
 * Plain-HTTP requests in production behind a trusted TLS-terminating proxy:
 * safe reads (GET, HEAD) are redirected with 308 to the same path on
 * RAMPART_PUBLIC_URL; anything else is refused, because a redirected POST
 * would already have sent its body (and bearer token) in clear text and a
 * silent redirect would hide that from the client's developers.
 *
 * The redirect target is built from the configured public URL, never from the
 * request's Host header (an attacker-chosen Host would make us an open
 * redirector and poison caches).
 */
import type { Config } from "../config/index.js";

export type PlainHttpDecision = { readonly kind: "pass" } | { readonly kind: "redirect"; readonly location: string } | { readonly kind: "refuse" };

export interface HttpsEnforcement {
  /** Whether plain-HTTP requests are redirected or refused at all. */
  readonly enabled: boolean;
  /** Origin of RAMPART_PUBLIC_URL (`https://api.example.com`). */
  readonly publicOrigin: string;
  /** Paths answered over plain HTTP too: load balancers probe health on the instance's own port. */
  readonly exemptPrefixes: readonly string[];
}

/**
 * Enforcement applies in production behind a trusted proxy (TRUST_PROXY set),
 * the only setup where the client's scheme is known (`X-Forwarded-Proto`),
 * and when the public URL is HTTPS (otherwise there is nowhere to send it;
 * preflight refuses that configuration).
 */
export function httpsEnforcement(config: Pick<Config, "nodeEnv" | "trustProxy" | "publicUrl">): HttpsEnforcement {
  const url = new URL(config.publicUrl);
  const proxied = config.trustProxy !== false && !(Array.isArray(config.trustProxy) && config.trustProxy.length === 0);
  return Object.freeze({ enabled: config.nodeEnv === "production" && proxied && url.protocol === "https:", publicOrigin: url.origin, exemptPrefixes: Object.freeze(["/health/"]) });
}

/**
 * What to do with a request. `protocol` is the scheme the client used as the
 * framework derives it (from `X-Forwarded-Proto` of a trusted proxy); `url` is
 * the request target (`/path?query`). Anything other than `https` is plain.
 */
export function plainHttpDecision(enforcement: HttpsEnforcement, request: { method: string; protocol: string | undefined; url: string }): PlainHttpDecision {
  if (!enforcement.enabled || request.protocol?.toLowerCase() === "https") return { kind: "pass" };
  if (enforcement.exemptPrefixes.some((p) => request.url.startsWith(p))) return { kind: "pass" };
  if (request.method !== "GET" && request.method !== "HEAD") return { kind: "refuse" };
  return { kind: "redirect", location: httpsLocation(enforcement.publicOrigin, request.url) };
}

/**
 * The https URL for a request target on the public origin. The path is set
 * through the URL API, so a target such as `//evil.example/` or an
 * absolute-form `http://evil.example/` can never change the host.
 */
export function httpsLocation(publicOrigin: string, target: string): string {
  const location = new URL(publicOrigin);
  if (!target.startsWith("/")) return location.href; // absolute-form or asterisk-form: go to the root
  const q = target.indexOf("?");
  location.pathname = q === -1 ? target : target.slice(0, q);
  if (q !== -1) location.search = target.slice(q);
  return location.href;
}
