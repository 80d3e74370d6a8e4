/**
 * The grammar of `CORS_ORIGINS`: a comma-separated allowlist of exact origins
 * (scheme, host and port; RFC 6454 §6.2 serialization), or `*` alone. Each
 * entry is normalized to the form a browser sends in `Origin` (lower-case
 * host, default port dropped), so matching is a plain string comparison and
 * no pattern can ever match more than was written down.
 */
import { ConfigValueError } from "../config/parsers.js";

/** The value of CORS_ORIGINS that allows every origin (without credentials only). */
export const ANY_ORIGIN = "*";

const EXPECTED = "a comma-separated list of origins such as https://app.example.com (scheme, host and optional port; no path), or * alone";

/** Normalizes one origin, or throws ConfigValueError saying why it is not one. */
export function parseOrigin(raw: string): string {
  const v = raw.trim();
  // `null` is the origin of sandboxed frames, file: URLs and redirects: anyone can send it.
  if (v.toLowerCase() === "null") throw new ConfigValueError(`${EXPECTED}; 'null' is never allowed`);
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigValueError(EXPECTED);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new ConfigValueError(`${EXPECTED}; only http and https origins`);
  if (u.username || u.password || u.search || u.hash || v.includes("?") || v.includes("#") || u.pathname !== "/") {
    throw new ConfigValueError(`${EXPECTED}; '${v}' has more than scheme, host and port`);
  }
  // A trailing slash is the only path we accept, and only as written (`https://a.example/`).
  if (!/^https?:\/\/[^/]+\/?$/i.test(v)) throw new ConfigValueError(`${EXPECTED}; '${v}' has more than scheme, host and port`);
  if (u.hostname.includes("*")) throw new ConfigValueError(`${EXPECTED}; wildcards inside an origin are not supported`);
  return u.origin;
}

/**
 * Parses CORS_ORIGINS. Returns the normalized origins, or `["*"]` for the
 * wildcard; `*` mixed with other entries is refused (it would hide them).
 */
export function corsOrigins(raw: string): readonly string[] {
  const entries = raw.split(",").map((e) => e.trim()).filter((e) => e !== "");
  if (entries.length === 0) return [];
  if (entries.includes(ANY_ORIGIN)) {
    if (entries.length > 1) throw new ConfigValueError(`${EXPECTED}; * must stand alone`);
    return [ANY_ORIGIN];
  }
  return [...new Set(entries.map(parseOrigin))];
}
