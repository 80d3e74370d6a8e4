/** Small helpers for driving the HTTP API in tests (app.inject). */
import type { FastifyInstance, LightMyRequestResponse } from "fastify";

export interface Call {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
}

export async function call(app: FastifyInstance, c: Call): Promise<LightMyRequestResponse & { data: any; code: string | undefined }> {
  const res = await app.inject({
    method: c.method,
    url: c.url,
    ...(c.body !== undefined ? { payload: c.body as object } : {}),
    headers: { ...(c.token ? { authorization: `Bearer ${c.token}` } : {}), ...(c.headers ?? {}) },
  });
  const json = res.body ? (JSON.parse(res.body) as { data?: unknown; code?: string }) : {};
  return Object.assign(res, { data: json.data as any, code: json.code });
}

let counter = 0;
/** A fresh email and a password that passes the policy. */
export function credentials(): { email: string; password: string } {
  counter++;
  return { email: `user${counter}.${Date.now().toString(36)}@example.com`, password: `correct horse battery staple ${counter}` };
}

export async function registerAndLogin(app: FastifyInstance, creds = credentials()): Promise<{ email: string; password: string; accessToken: string; refreshToken: string; userId: string }> {
  const reg = await call(app, { method: "POST", url: "/v1/auth/register", body: creds });
  // 202 by default (the same answer for an existing email), 201 with AUTH_REGISTRATION_CONFLICT=explicit.
  if (reg.statusCode !== 202 && reg.statusCode !== 201) throw new Error(`register failed: ${reg.statusCode} ${reg.body}`);
  const res = await call(app, { method: "POST", url: "/v1/auth/login", body: creds });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  return { ...creds, accessToken: res.data.accessToken, refreshToken: res.data.refreshToken, userId: res.data.user.id };
}
