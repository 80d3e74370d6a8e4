/**
 * The `vault:` provider behind its `secrets.vault` upstream, against the local
 * Vault fake over real HTTP with scripted outages: each attempt is cut off at
 * SECRETS_PROVIDER_TIMEOUT_MS, reads are retried through transient 5xx,
 * repeated failures open the circuit breaker (loads refused without reaching
 * Vault) while the cache keeps serving stale values, and Vault is read again
 * once the breaker's cooldown has passed. A 403 is an answer: neither retried
 * nor counted. The cache runs on a ManualClock; the upstream on real time.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UpstreamRegistry, type Upstream, type UpstreamOptions } from "../../src/resilience/index.js";
import { SecretLoadError } from "../../src/secrets/index.js";
import { events, harness, type Harness } from "./helpers.js";
import { VaultFake } from "./vault-fake.js";
import { sleep } from "../helpers/async.js";

const TIMEOUT_MS = 150;
const HALF_OPEN_MS = 300;
const SECOND = 1000;
/** SECRETS_CACHE_TTL_SECONDS's default, and the reload backoff after a failure (a tenth of it, at most 30 s). */
const TTL = 300 * SECOND;
const BACKOFF = 30 * SECOND;
const TOKEN = "hvs.static-token-123456";

let vault: VaultFake;
let h: Harness | undefined;

beforeEach(async () => {
  vault = new VaultFake();
  await vault.start();
  vault.tokens.add(TOKEN);
  vault.put("secret/rampart/prod", { "jwt-signing": "vault-jwt-v1" });
});

afterEach(async () => {
  await h?.secrets.close();
  h = undefined;
  await vault.stop();
});

/** A secrets service on the fake with a 150 ms deadline; the registry shortens the backoff and the breaker's cooldown. */
function make(overrides: Partial<UpstreamOptions> = {}): { h: Harness; upstream: Upstream } {
  const upstreams = new UpstreamRegistry({}, { "secrets.vault": { backoff: { initialDelayMs: 10, maxDelayMs: 30 }, breaker: { kind: "consecutive", failures: 3, halfOpenAfterMs: HALF_OPEN_MS }, ...overrides } });
  h = harness({
    configEnv: { RAMPART_SECRETS: "vault:secret/rampart/prod", VAULT_ADDR: vault.addr, VAULT_TOKEN: TOKEN, SECRETS_PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS) },
    upstreams,
  });
  return { h, upstream: upstreams.get("secrets.vault")! };
}

describe("vault provider through the secrets.vault upstream", () => {
  it("(Vault HTTP fake) a hanging Vault: each of the three attempts is cut off at SECRETS_PROVIDER_TIMEOUT_MS and the load fails saying so", async () => {
    const { h } = make();
    vault.faults.mode = "hang";
    const started = performance.now();
    const err = await h.secrets.get("jwt-signing").catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(SecretLoadError);
    expect((err as Error).message).toBe(`secret "jwt-signing" could not be loaded from vault:secret/rampart/prod: timed out after ${TIMEOUT_MS} ms`);
    expect(elapsed).toBeGreaterThanOrEqual(3 * TIMEOUT_MS - 10);
    expect(elapsed).toBeLessThan(3 * TIMEOUT_MS + 1_500);
    expect(vault.faults.hits).toBe(3);
    expect(await vault.faults.abandonedAtLeast(3)).toBe(3);
  });

  it("(Vault HTTP fake) a hanging Vault: a cached value past its TTL is served stale", async () => {
    const { h, upstream } = make();
    expect(await h.secrets.get("jwt-signing")).toBe("vault-jwt-v1");
    h.clock.advance(TTL + SECOND);
    vault.faults.mode = "hang";
    expect(await h.secrets.get("jwt-signing")).toBe("vault-jwt-v1");
    expect(h.secrets.stats()).toMatchObject({ staleServes: 1, loadErrors: 1 });
    expect(upstream.stats().timeouts).toBe(3);
  });

  it("(Vault HTTP fake) retries a read through transient 503s with backoff: Vault sees three reads", async () => {
    const { h, upstream } = make();
    vault.faults.plan.push(503, 503);
    expect(await h.secrets.get("jwt-signing")).toBe("vault-jwt-v1");
    expect(vault.faults.hits).toBe(3);
    expect(upstream.stats()).toMatchObject({ retries: 2, successes: 1, failures: 0 });
  });

  it("(Vault HTTP fake) a failing Vault opens the breaker: loads are refused without reaching Vault, the cache serves stale, and Vault is read again after the cooldown", async () => {
    const { h, upstream } = make();
    expect(await h.secrets.get("jwt-signing")).toBe("vault-jwt-v1");
    vault.faults.reset();

    // Expired: one load, three attempts, three 503s: the breaker opens; the stale value is served.
    vault.faults.mode = 503;
    h.clock.advance(TTL + SECOND);
    expect(await h.secrets.get("jwt-signing")).toBe("vault-jwt-v1");
    expect(vault.faults.hits).toBe(3);
    expect(upstream.breakerState).toBe("open");

    // After the cache's own reload backoff: the load is refused by the breaker, Vault sees nothing, stale again.
    h.clock.advance(BACKOFF + SECOND);
    expect(await h.secrets.get("jwt-signing")).toBe("vault-jwt-v1");
    expect(vault.faults.hits).toBe(3);
    expect(events(h.logs, "secret.stale").at(-1)?.reason).toBe("upstream 'secrets.vault': circuit breaker open");
    expect(h.secrets.stats()).toMatchObject({ staleServes: 2, loadErrors: 2 });

    // Vault recovers with a new version: after the cooldown one trial read closes the breaker.
    vault.faults.mode = "ok";
    vault.put("secret/rampart/prod", { "jwt-signing": "vault-jwt-v2" });
    await sleep(HALF_OPEN_MS + 50);
    h.clock.advance(BACKOFF + SECOND);
    expect(await h.secrets.get("jwt-signing")).toBe("vault-jwt-v2");
    expect(vault.faults.hits).toBe(4);
    expect(upstream.breakerState).toBe("closed");
  });

  it("(Vault HTTP fake) a 403 is Vault's answer: tried once per load, the breaker stays closed", async () => {
    const { h, upstream } = make();
    vault.tokens.clear();
    for (let i = 0; i < 4; i++) await expect(h.secrets.refresh("jwt-signing")).rejects.toThrow("Vault denied GET /v1/secret/data/rampart/prod (HTTP 403)");
    expect(vault.faults.hits).toBe(4);
    expect(upstream.breakerState).toBe("closed");
    expect(upstream.stats().retries).toBe(0);
  });
});
