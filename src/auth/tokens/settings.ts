/**
 * Access-token settings from the validated config, and the timing rules that
 * tie them together: a new key must be visible to every verifier before it
 * signs, so the JWKS may be cached for at most half the publish delay and
 * instances reload their key set well within it.
 */
import type { Config } from "../../config/index.js";
import type { AccessTokenSettings } from "./types.js";

const DAY_MS = 86_400_000;

/** The settings of issuing, verifying and rotating access tokens, from config. */
export function settingsFromConfig(
  config: Pick<Config, "publicUrl" | "jwtAudience" | "accessTokenTtlSeconds" | "jwtClockSkewSeconds" | "signingKeyRotationDays" | "signingKeyPublishDelaySeconds">,
): AccessTokenSettings {
  return Object.freeze({
    issuer: config.publicUrl,
    audience: config.jwtAudience,
    ttlSeconds: config.accessTokenTtlSeconds,
    clockSkewSeconds: config.jwtClockSkewSeconds,
    rotationMs: config.signingKeyRotationDays * DAY_MS,
    publishDelayMs: config.signingKeyPublishDelaySeconds * 1000,
  });
}

/**
 * `max-age` of the JWKS response: half the publish delay, at most 300 s, so a
 * relying party that cached the document just before a key was added still
 * refetches it before that key signs.
 */
export function jwksMaxAgeSeconds(settings: Pick<AccessTokenSettings, "publishDelayMs">): number {
  return Math.max(0, Math.min(300, Math.floor(settings.publishDelayMs / 2000)));
}

/**
 * How long after a key stops signing it must still verify: a token it signed
 * last lives `ttl`, and verifiers accept it for `skew` past `exp`.
 */
export function retiredWindowMs(settings: Pick<AccessTokenSettings, "ttlSeconds" | "clockSkewSeconds">): number {
  return (settings.ttlSeconds + settings.clockSkewSeconds) * 1000;
}
