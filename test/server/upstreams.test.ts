/**
 * The runtime's upstreams in the composed server: a runtime on Vault Transit
 * (the local fake) registers `kms.vault-transit` in `runtime.upstreams`, a
 * hanging Vault makes a request that needs a new data key answer 503
 * SERVICE_UNAVAILABLE at the deadline, the open breaker answers 503 at once
 * without reaching Vault, and `/metrics` lists every upstream of the runtime
 * (the KMS, the identity's SMTP and one a host registered) without any
 * wiring by the caller.
 */
import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/server/app.js";
import { startVaultFake, type VaultFake } from "../crypto/fixtures/vault-fake.js";
import { createTestEnv, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";
import { sample } from "../metrics/helpers.js";

const TOKEN = "metrics-scrape-token-0123456789abcdef";
const TIMEOUT_MS = 200;

describe("runtime upstreams in the composed server", () => {
  let vault: VaultFake;
  let env: TestEnv;
  let rt: TestRuntime;
  let app: FastifyInstance;

  beforeAll(async () => {
    vault = await startVaultFake();
    env = await createTestEnv("embedded", { RAMPART_KMS: "vault-transit", VAULT_TRANSIT_ADDR: vault.addr });
    rt = await createTestRuntime(env, {
      env: { RAMPART_SECRET_VAULT_TOKEN: vault.token, RAMPART_SECRET_METRICS_TOKEN: TOKEN },
      upstreams: { "kms.vault-transit": { timeoutMs: TIMEOUT_MS, retries: 0, breaker: { kind: "consecutive", failures: 2, halfOpenAfterMs: 60_000 } } },
    });
    // A host's own upstream, registered on the runtime like the built-in ones.
    const billing = rt.runtime.upstreams.create("billing-api", { timeoutMs: 1_000 });
    await billing.execute(async () => "ok", { idempotent: true });
    app = await buildApp(rt.runtime, {
      configure: (a) => {
        // A fresh subject needs a new data key, so each request calls the KMS.
        a.post("/test/seal", async () => ({ sealed: (await rt.runtime.crypto.encryptFor(randomUUID(), "value", { table: "t", column: "c", id: "1" })).length > 0 }));
      },
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await rt?.runtime.close();
    await env?.cleanup();
    await vault?.close();
  });

  const seal = () => app.inject({ method: "POST", url: "/test/seal" });

  it("(Vault HTTP fake) a hanging KMS answers 503 at the deadline; once the breaker opens, 503 at once without reaching Vault", async () => {
    expect((await seal()).statusCode).toBe(200);
    vault.faults.reset();
    vault.faults.mode = "hang";
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      const res = await seal();
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ success: false, code: "SERVICE_UNAVAILABLE" });
      expect(performance.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 10);
    }
    expect(vault.faults.hits).toBe(2);
    expect(rt.runtime.upstreams.get("kms.vault-transit")?.breakerState).toBe("open");
    const refused = await seal();
    expect(refused.statusCode).toBe(503);
    expect(refused.json()).toMatchObject({ code: "SERVICE_UNAVAILABLE" });
    expect(vault.faults.hits).toBe(2);
  });

  it("/metrics lists every upstream of the runtime: the KMS's calls, timeouts, refusals and open breaker, and a host's own", async () => {
    const res = await app.inject({ method: "GET", url: "/metrics", headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(200);
    const text = res.body;
    const kms = { upstream: "kms.vault-transit" };
    // Two timeouts and one refusal, plus the first check of the Transit key at start-up (404, then created).
    expect(sample(text, "rampart_upstream_calls_total", { ...kms, result: "failure" })).toBe(4);
    expect(sample(text, "rampart_upstream_calls_total", { ...kms, result: "success" })).toBeGreaterThanOrEqual(1);
    expect(sample(text, "rampart_upstream_timeouts_total", kms)).toBe(2);
    expect(sample(text, "rampart_upstream_rejections_total", { ...kms, reason: "breaker_open" })).toBe(1);
    expect(sample(text, "rampart_upstream_breaker_open", kms)).toBe(1);
    expect(sample(text, "rampart_upstream_call_duration_seconds_count", kms)).toBe(sample(text, "rampart_upstream_calls_total", { ...kms, result: "success" })! + 4);
    expect(sample(text, "rampart_upstream_calls_total", { upstream: "billing-api", result: "success" })).toBe(1);
    expect(sample(text, "rampart_upstream_breaker_open", { upstream: "billing-api" })).toBe(0);
    // The identity's mail transport goes through the runtime's `smtp` upstream (no mail sent yet).
    expect(sample(text, "rampart_upstream_breaker_open", { upstream: "smtp" })).toBe(0);
    expect(rt.runtime.upstreams.get("smtp")).toBeDefined();
  });
});
