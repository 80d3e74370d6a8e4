/** Starting the store for a test file, and calling it as a client would. */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { buildApp, type BuildAppOptions } from "../src/app.js";

/** The first admin, created at start from the environment (RAMPART_BOOTSTRAP_ADMIN_EMAIL). */
export const ADMIN = { email: "admin@store.example", password: "Tangerine-Lighthouse-42-Quartz" };
export const STRIPE_SECRET = "whsec_test_9f2c4e7a1b3d5f60718293a4b5c6d7e8";

export interface Store {
  app: FastifyInstance;
  close(): Promise<void>;
}

/** `env`: variables of this test file on top of the store's (LOG_LEVEL, ...); `logDestination`: where log lines go. */
export async function startStore(options: { env?: Record<string, string> } & BuildAppOptions = {}): Promise<Store> {
  const dataDir = mkdtempSync(join(tmpdir(), "store-api-"));
  Object.assign(process.env, {
    RAMPART_DATA_DIR: dataDir,
    RAMPART_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    RAMPART_SECRET_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    RAMPART_SECRET_STRIPE_WEBHOOK: STRIPE_SECRET,
    // With PostgreSQL every test file of a run shares one database: its encrypted rows and email lookups
    // need the same keys in every file, not the development keys each data directory would generate,
    // and its tokens one issuer (a shared database refuses to start without these). Test-only values.
    RAMPART_PUBLIC_URL: "http://store.test",
    RAMPART_SECRET_MASTER_KEY: "5f1d9c3ab0e24f6781c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e",
    RAMPART_SECRET_BLIND_INDEX_KEY: "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
    ...options.env,
  });
  const app = await buildApp(options.logDestination ? { logDestination: options.logDestination } : {});
  await app.ready();
  return {
    app,
    async close() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// Answers of any shape: each test reads the fields it checks.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: { success: boolean; data?: Json; code?: string; message?: string; details?: Json; traceId: string };
}

export async function call(app: FastifyInstance, method: "GET" | "POST" | "PUT" | "DELETE", url: string, options: { token?: string; body?: unknown; ip?: string } = {}): Promise<Answer> {
  const res = await app.inject({
    method,
    url,
    remoteAddress: options.ip ?? "10.0.0.1",
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    ...(options.body !== undefined ? { payload: options.body as object } : {}),
  });
  return { status: res.statusCode, headers: res.headers, body: res.json() };
}

export interface Customer {
  id: string;
  email: string;
  password: string;
  token: string;
  ip: string;
}

export async function logIn(app: FastifyInstance, email: string, password: string, ip: string): Promise<{ id: string; token: string }> {
  const res = await call(app, "POST", "/v1/auth/login", { body: { email, password }, ip });
  if (res.status !== 200) throw new Error(`login of ${email} answered ${res.status} ${res.body.code}`);
  return { id: res.body.data.user.id, token: res.body.data.accessToken };
}

/**
 * Registers and logs in a new customer. Registration is limited to 5 a minute per
 * client IP (and login to 10), so each customer comes from an address of their own.
 */
export async function signUp(app: FastifyInstance, name: string, ip: string): Promise<Customer> {
  const email = `${name}-${randomBytes(4).toString("hex")}@store.example`;
  const password = `${randomBytes(12).toString("base64url")}-Kiwi-7`;
  const res = await call(app, "POST", "/v1/auth/register", { body: { email, password }, ip });
  if (res.status !== 202) throw new Error(`registration answered ${res.status} ${res.body.code}`);
  return { ...(await logIn(app, email, password, ip)), email, password, ip };
}

/** Waits for something that happens after the answer (webhook dispatch). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A log destination that keeps every line, parsed. */
export function captureLogs(): { destination: { write(line: string): void }; lines: Record<string, unknown>[]; text: () => string } {
  const raw: string[] = [];
  return {
    destination: { write: (line) => void raw.push(line) },
    get lines() {
      return raw.flatMap((chunk) => chunk.split("\n")).filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    text: () => raw.join(""),
  };
}
