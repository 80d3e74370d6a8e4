/**
 * The scrape credential of `/metrics` on the main port: `Authorization:
 * Bearer <metrics-token>`, the token being the secret `metrics-token` from the
 * secrets module (so it rotates with its provider). Compared in constant time
 * over SHA-256 digests, so neither the content nor the length of the expected
 * token leaks through timing. Without the secret every request is refused.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** The secret that holds the scrape token. */
export const METRICS_TOKEN_SECRET = "metrics-token";

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** The credential of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^Bearer[ ]+([^\s]{1,4096})$/i.exec(header.trim());
  return m?.[1];
}

/**
 * Whether `header` carries the expected token. An undefined `expected` (the
 * secret is not configured) refuses everything: there is no default token.
 */
export function metricsTokenMatches(header: string | undefined, expected: string | undefined): boolean {
  if (expected === undefined || expected === "") return false;
  const given = bearerToken(header);
  // Digest even when absent, so a missing header costs what a wrong one costs.
  const ok = timingSafeEqual(digest(given ?? ""), digest(expected));
  return ok && given !== undefined;
}
