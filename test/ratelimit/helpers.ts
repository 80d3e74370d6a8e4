/**
 * A test server with rate limiting registered the way the server composes it:
 * `createRateLimiting(runtime)`, its readiness probe added to the runtime's
 * checks, and the plugin registered in `configure`. A stand-in for the auth
 * plugin sets `request.ctx.userId` from an `x-test-user` header, before the
 * rate-limit hook, so principal keys can be exercised.
 */
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../src/server/app.js";
import { createRateLimiting, type RateLimiting } from "../../src/ratelimit/index.js";
import { rateLimitPlugin, type RateLimitPluginOptions } from "../../src/ratelimit/plugin.js";
import type { Runtime } from "../../src/runtime/index.js";
import { createTestEnv, type ModeName } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";
import type { LogCapture } from "../helpers/logs.js";

export interface LimitedApp {
  app: FastifyInstance;
  runtime: Runtime;
  rl: RateLimiting;
  logs: LogCapture;
  close(): Promise<void>;
}

export interface LimitedAppOptions {
  env?: Record<string, string>;
  routes?: (app: FastifyInstance) => void;
  plugin?: Partial<RateLimitPluginOptions>;
}

export async function limitedApp(mode: ModeName, options: LimitedAppOptions = {}): Promise<LimitedApp> {
  const env = await createTestEnv(mode, { RATE_LIMIT_ENABLED: "true", ...options.env });
  const { runtime, logs } = await createTestRuntime(env);
  const limited = await limitedAppOn(runtime, options);
  return {
    ...limited,
    logs,
    async close() {
      await limited.close();
      await runtime.close();
      await env.cleanup();
    },
  };
}

/**
 * The same on an existing runtime (several apps on one runtime save the
 * database set-up); `config` overrides rate-limit settings for this app only.
 * Closing it closes the app and its rate limiting, not the runtime.
 */
export async function limitedAppOn(runtime: Runtime, options: Omit<LimitedAppOptions, "env"> & { config?: Partial<Runtime["config"]> } = {}): Promise<Omit<LimitedApp, "logs">> {
  const rl = createRateLimiting({ ...runtime, config: { ...runtime.config, ...options.config } });
  runtime.healthChecks.push(rl.healthCheck);
  const build = buildApp(runtime, {
    rateLimiting: false,
    configure: async (a) => {
      a.addHook("onRequest", async (request) => {
        const user = request.headers["x-test-user"];
        if (typeof user === "string") request.ctx.userId = user;
      });
      await a.register(rateLimitPlugin, { limiter: rl.limiter, enabled: rl.enabled, ...options.plugin });
      options.routes?.(a);
    },
  });
  const app = await build.catch(async (err: unknown) => {
    await rl.close();
    throw err;
  });
  await app.ready();
  return {
    app,
    runtime,
    rl,
    async close() {
      await app.close();
      await rl.close();
      runtime.healthChecks.splice(runtime.healthChecks.indexOf(rl.healthCheck), 1);
    },
  };
}

/** The parameters of an RFC 8941 item like `"default";r=2;t=20`. */
export function sfItem(value: string | undefined): { name: string; params: Record<string, number> } {
  const m = /^"([^"\\]*)"((?:;[a-z]+=\d+)*)$/.exec(value ?? "");
  if (!m) throw new Error(`not a structured-field item with integer parameters: ${String(value)}`);
  const params: Record<string, number> = {};
  for (const p of m[2]!.split(";").slice(1)) {
    const [k, v] = p.split("=") as [string, string];
    params[k] = Number(v);
  }
  return { name: m[1]!, params };
}
