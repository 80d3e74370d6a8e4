/**
 * Cookie mode of the session routes, for the web console (docs/identity.md,
 * "Browser sessions"). A browser script must never hold the refresh token:
 * with `X-Rampart-Console: 1` a login, an MFA step or a refresh sets it as an
 * `HttpOnly`, `SameSite=Strict` cookie whose `Path` is the refresh route, and
 * leaves it out of the JSON body; a refresh without a body token reads it from
 * that cookie.
 *
 * A cookie is sent by the browser on its own, so every request in cookie mode
 * (the header, or a refresh that relies on the cookie) must prove it comes from
 * the console's own pages (OWASP CSRF Prevention Cheat Sheet, "Verifying Origin
 * with standard headers" and "Custom request headers"): its `Origin` must be the
 * server's public origin (outside production, also the origin the request was
 * addressed to), and it must carry the custom header, which no cross-origin page
 * can add without a CORS preflight this server never grants for it.
 */
import { RampartError } from "../../errors/index.js";

/** The request header that asks for cookie mode and is the custom header of the CSRF check. */
export const CONSOLE_HEADER = "x-rampart-console";
/** Name of the refresh-token cookie. */
export const REFRESH_COOKIE = "rampart_refresh";

export interface CookieModeSettings {
  /** Origin of RAMPART_PUBLIC_URL (`https://id.example.com`). */
  readonly publicOrigin: string;
  /** `Secure` on the cookie: in production, and whenever the public URL is HTTPS. */
  readonly secure: boolean;
  /** Outside production the request's own origin is accepted too (`localhost` next to `127.0.0.1`). */
  readonly acceptOwnOrigin: boolean;
}

export function cookieModeSettings(config: { nodeEnv: string; publicUrl: string }): CookieModeSettings {
  const url = new URL(config.publicUrl);
  const production = config.nodeEnv === "production";
  return Object.freeze({ publicOrigin: url.origin, secure: production || url.protocol === "https:", acceptOwnOrigin: !production });
}

/** What the glue reads off a request. */
export interface CookieModeRequest {
  /** Value of `X-Rampart-Console`. */
  readonly consoleHeader: string | undefined;
  /** Value of `Origin`. */
  readonly origin: string | undefined;
  /** The origin the request was addressed to (`protocol://host`), from the trusted proxy headers. */
  readonly ownOrigin: string;
  /** Value of `Cookie`. */
  readonly cookie: string | undefined;
}

/** Whether the request asks for cookie mode. */
export function wantsCookieMode(req: Pick<CookieModeRequest, "consoleHeader">): boolean {
  return req.consoleHeader !== undefined;
}

/**
 * Throws 403 FORBIDDEN unless the request carries `X-Rampart-Console: 1` and an
 * `Origin` the server serves the console from. Called for every request in
 * cookie mode before anything else happens.
 */
export function assertSameOriginConsole(settings: CookieModeSettings, req: CookieModeRequest): void {
  if (req.consoleHeader !== "1") {
    throw new RampartError("FORBIDDEN", { message: "A request that uses the session cookie must come from the console (X-Rampart-Console: 1)." });
  }
  const origin = req.origin;
  const allowed = origin !== undefined && (origin === settings.publicOrigin || (settings.acceptOwnOrigin && origin === req.ownOrigin));
  if (!allowed) throw new RampartError("FORBIDDEN", { message: "A request that uses the session cookie must come from the console's own origin." });
}

/** The refresh token in the `Cookie` header, if any (RFC 6265 §5.4: `name=value; name=value`). */
export function refreshTokenFromCookie(cookie: string | undefined): string | undefined {
  if (!cookie) return undefined;
  for (const part of cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === REFRESH_COOKIE) {
      const value = part.slice(eq + 1).trim();
      // The value is base64url; anything else was not set by this server.
      return /^[A-Za-z0-9_-]{16,512}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/** `Set-Cookie` that stores a refresh token for `maxAgeSeconds` on the refresh route only. */
export function refreshCookie(settings: CookieModeSettings, path: string, token: string, maxAgeSeconds: number): string {
  return [`${REFRESH_COOKIE}=${token}`, `Path=${path}`, `Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`, "HttpOnly", "SameSite=Strict", ...(settings.secure ? ["Secure"] : [])].join("; ");
}

/** `Set-Cookie` that removes the refresh cookie. */
export function clearedRefreshCookie(settings: CookieModeSettings, path: string): string {
  return refreshCookie(settings, path, "", 0).replace(`${REFRESH_COOKIE}=;`, `${REFRESH_COOKIE}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT;`);
}
