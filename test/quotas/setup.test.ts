/**
 * The quota service at start: a default plan that RAMPART_PLANS does not
 * define stops the start, naming the variable, the plans there are and what
 * was received.
 */
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/index.js";
import { createQuotas } from "../../src/quotas/index.js";
import { createTestEnv } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";

describe("quota service start", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("refuses a default plan that is not among RAMPART_PLANS", async () => {
    const env = await createTestEnv("embedded", { RAMPART_PLANS: '{"free":{"api.requests":{"day":100}},"pro":{}}', RAMPART_DEFAULT_PLAN: "gold" });
    cleanups.push(() => env.cleanup());
    const { runtime } = await createTestRuntime(env);
    cleanups.push(() => runtime.close());
    const failure = await createQuotas(runtime).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as Error).message).toBe("RAMPART_DEFAULT_PLAN: expected a plan of RAMPART_PLANS (free, pro), instead got 'gold'");
  });
});
