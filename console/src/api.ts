/**
 * The console's client of the JSON API (`/v1`): envelopes in, typed data or an
 * `ApiError` (code, message, trace id) out.
 *
 * Token storage: the access token lives in this module's memory only — never
 * in localStorage, sessionStorage or a readable cookie — so a reload loses it
 * and the console gets a new one from `/v1/auth/refresh`, which reads the
 * refresh token from its HttpOnly cookie (cookie mode, `X-Rampart-Console: 1`).
 * An access token that expires mid-session is renewed the same way, once, and
 * the request retried.
 */

export interface PublicUser {
  id: string;
  email: string;
  name: string | null;
  roles: string[];
  mfaEnabled: boolean;
  emailVerified: boolean;
  createdAt: string;
}

export interface SignedIn {
  accessToken: string;
  expiresIn: number;
  user: PublicUser;
}

/** An error answer of the API (or a network failure, code `NETWORK`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly traceId: string | undefined,
    readonly details: Record<string, unknown> | undefined,
    /** Seconds from `Retry-After`, when the answer had one. */
    readonly retryAfter: number | undefined,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

let accessToken: string | null = null;
let refreshing: Promise<SignedIn | null> | null = null;
const sessionListeners = new Set<(s: SignedIn | null) => void>();

/** Called with the new session after every sign-in and refresh, and with null when it ends. */
export function onSession(listener: (s: SignedIn | null) => void): () => void {
  sessionListeners.add(listener);
  return () => sessionListeners.delete(listener);
}

export function setSession(s: SignedIn | null): void {
  accessToken = s?.accessToken ?? null;
  for (const l of sessionListeners) l(s);
}

export const CONSOLE_HEADERS: Readonly<Record<string, string>> = Object.freeze({ "x-rampart-console": "1" });

interface Envelope<T> {
  success: boolean;
  data?: T;
  code?: string;
  message?: string;
  details?: Record<string, unknown>;
  traceId?: string;
}

async function toError(res: Response): Promise<ApiError> {
  const retry = res.headers.get("retry-after");
  const retryAfter = retry !== null && /^\d+$/.test(retry) ? Number(retry) : undefined;
  let body: Envelope<unknown> | undefined;
  try {
    body = (await res.json()) as Envelope<unknown>;
  } catch {
    body = undefined;
  }
  const traceId = body?.traceId ?? res.headers.get("x-request-id") ?? undefined;
  return new ApiError(res.status, body?.code ?? "HTTP_ERROR", body?.message ?? `The server answered ${res.status}.`, traceId, body?.details, retryAfter);
}

async function send(method: string, path: string, body: unknown, auth: boolean): Promise<Response> {
  const headers: Record<string, string> = { ...CONSOLE_HEADERS, accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (auth && accessToken) headers.authorization = `Bearer ${accessToken}`;
  try {
    return await fetch(path, { method, headers, credentials: "same-origin", ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch {
    throw new ApiError(0, "NETWORK", "The server could not be reached. Check your connection and try again.", undefined, undefined, undefined);
  }
}

/** A new access token from the refresh cookie; null when there is no live console session. One at a time. */
export function refreshSession(): Promise<SignedIn | null> {
  refreshing ??= (async () => {
    try {
      const res = await send("POST", "/v1/auth/refresh", {}, false);
      if (!res.ok) {
        // Offline is not signed out: keep the session and let the caller report the network error.
        if (res.status >= 500) throw await toError(res);
        setSession(null);
        return null;
      }
      const data = ((await res.json()) as Envelope<SignedIn>).data!;
      setSession(data);
      return data;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

const RENEWABLE = new Set(["TOKEN_EXPIRED", "UNAUTHENTICATED"]);

/** Calls the API; resolves with `data` of the envelope. */
export async function api<T>(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T> {
  const res = await authorized(method, path, body);
  if (!res.ok) throw await toError(res);
  return ((await res.json()) as Envelope<T>).data as T;
}

async function authorized(method: string, path: string, body: unknown): Promise<Response> {
  const hadToken = accessToken !== null;
  let res = await send(method, path, body, true);
  if (res.status === 401 && hadToken) {
    const err = await toError(res.clone());
    if (RENEWABLE.has(err.code) && (await refreshSession())) res = await send(method, path, body, true);
    else if (err.code === "TOKEN_REVOKED") setSession(null);
  }
  return res;
}

/** Calls a route without a bearer token (sign-in, registration, password reset). */
export async function publicApi<T>(method: "POST", path: string, body: unknown): Promise<T> {
  const res = await send(method, path, body, false);
  if (!res.ok) throw await toError(res);
  return ((await res.json()) as Envelope<T>).data as T;
}

/** Downloads an authenticated GET as a file named by the answer's Content-Disposition. */
export async function download(path: string, fallbackName: string): Promise<void> {
  const res = await authorized("GET", path, undefined);
  if (!res.ok) throw await toError(res);
  const disposition = res.headers.get("content-disposition") ?? "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
  saveBlob(await res.blob(), name);
}

/** Offers a blob as a download (an object URL on a temporary link). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Signs out on the server (ends the session, clears the cookie), then locally. */
export async function signOut(): Promise<void> {
  try {
    if (accessToken || (await refreshSession())) await api("POST", "/v1/auth/logout");
  } finally {
    setSession(null);
  }
}
