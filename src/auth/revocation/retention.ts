/**
 * How long a session revocation must be kept: until every access token of the
 * session is refused as expired anyway, i.e. the token lifetime plus the clock
 * skew verifiers allow past `exp` (RFC 7519 §4.1.4).
 */
import type { Config } from "../../config/index.js";

/** Retention of a revocation in ms, from config. */
export function revocationRetentionMs(config: Pick<Config, "accessTokenTtlSeconds" | "jwtClockSkewSeconds">): number {
  return (config.accessTokenTtlSeconds + config.jwtClockSkewSeconds) * 1000;
}
