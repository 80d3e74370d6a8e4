/** Helpers for the HTTP-hardening tests: production-grade settings and apps built on them. */
import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../src/server/app.js";
import type { Runtime } from "../../src/runtime/index.js";
import { createTestEnv, type ModeName, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";

export const PUBLIC_URL = "https://api.example.test";

/**
 * Settings that production accepts: real key material from the `env` secrets
 * provider (`RAMPART_SECRET_<NAME>`, one key as 64 hex characters and one as
 * unpadded base64url, the two encodings src/crypto/key-secrets.ts accepts), an
 * https public URL, SMTP, rate limiting on, argon2 at its defaults (the floor; set here because
 * createTestEnv lowers them outside production, and these settings may be spread over its env).
 */
export function productionSettings(): Record<string, string> {
  return {
    NODE_ENV: "production",
    RAMPART_PUBLIC_URL: PUBLIC_URL,
    SMTP_URL: "smtp://mailer:pw-for-tests@127.0.0.1:2525",
    RATE_LIMIT_ENABLED: "true",
    ARGON2_MEMORY_KIB: "19456",
    ARGON2_ITERATIONS: "2",
    RAMPART_SECRETS: "env",
    RAMPART_SECRET_MASTER_KEY: randomBytes(32).toString("hex"),
    RAMPART_SECRET_BLIND_INDEX_KEY: randomBytes(32).toString("base64url"),
  };
}

export interface BuiltApp {
  app: FastifyInstance;
  runtime: Runtime;
  env: TestEnv;
  close(): Promise<void>;
}

/**
 * An app whose runtime reads secrets from the test's own environment map
 * (createTestApp's runtime reads process.env), so production apps can be built.
 */
export async function buildAppWith(mode: ModeName, overrides: Record<string, string>): Promise<BuiltApp> {
  // Production PostgreSQL does not migrate itself; the test database is new.
  const env = await createTestEnv(mode, { RAMPART_AUTO_MIGRATE: "true", ...overrides });
  let runtime: Runtime | undefined;
  try {
    runtime = (await createTestRuntime(env, { env: env.env })).runtime;
    const app = await buildApp(runtime);
    await app.ready();
    const rt = runtime;
    return {
      app,
      runtime: rt,
      env,
      async close() {
        await app.close();
        await rt.close();
        await env.cleanup();
      },
    };
  } catch (err) {
    await runtime?.close();
    await env.cleanup();
    throw err;
  }
}

/** The directives of a Content-Security-Policy header, by name. */
export function cspDirectives(header: unknown): Record<string, string[]> {
  expect(typeof header).toBe("string");
  const out: Record<string, string[]> = {};
  for (const part of String(header).split(";")) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) out[name.toLowerCase()] = values;
  }
  return out;
}

/** The field names of a comma-separated header (`Vary`, `Access-Control-*`), lower-cased. */
export function listHeader(value: unknown): string[] {
  return String(value ?? "")
    .split(",")
    .map((v) => v.trim().toLowerCase())
    .filter(Boolean);
}
