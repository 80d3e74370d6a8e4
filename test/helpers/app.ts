/** A test server: runtime + app in one mode, torn down together. */
import type { FastifyInstance } from "fastify";
import { buildApp, type BuildAppOptions } from "../../src/server/app.js";
import type { Clock, Runtime } from "../../src/runtime/index.js";
import { createTestEnv, type ModeName, type TestEnv } from "./modes.js";
import { createTestRuntime } from "./runtime.js";
import type { LogCapture } from "./logs.js";

export interface TestApp {
  app: FastifyInstance;
  runtime: Runtime;
  logs: LogCapture;
  env: TestEnv;
  close(): Promise<void>;
}

export async function createTestApp(mode: ModeName, options: BuildAppOptions & { env?: Record<string, string>; clock?: Clock; testEnv?: TestEnv } = {}): Promise<TestApp> {
  // A shared testEnv makes a second instance on the same stores (its owner cleans up).
  const env = options.testEnv ?? (await createTestEnv(mode, options.env ?? {}));
  const { runtime, logs } = await createTestRuntime(env, options.clock ? { clock: options.clock } : {});
  const app = await buildApp(runtime, options);
  await app.ready();
  return {
    app,
    runtime,
    logs,
    env,
    async close() {
      await app.close();
      await runtime.close();
      if (!options.testEnv) await env.cleanup();
    },
  };
}
