/** Builds a migrated runtime on a test environment, with captured logs. */
import { createRuntime, type Runtime, type RuntimeOptions } from "../../src/runtime/index.js";
import { loadConfig } from "../../src/config/index.js";
import { LogCapture } from "./logs.js";
import type { TestEnv } from "./modes.js";

export interface TestRuntime {
  runtime: Runtime;
  logs: LogCapture;
}

export async function createTestRuntime(env: TestEnv, options: RuntimeOptions & { env?: Record<string, string> } = {}): Promise<TestRuntime> {
  const logs = new LogCapture();
  const config = options.env ? loadConfig({ ...env.env, ...options.env }) : env.config;
  // The `env` secrets provider reads the test's environment (RAMPART_SECRET_* set by a test).
  const runtime = await createRuntime(config, { logDestination: logs, ...options, env: { ...process.env, ...env.env, ...options.env } });
  return { runtime, logs };
}
