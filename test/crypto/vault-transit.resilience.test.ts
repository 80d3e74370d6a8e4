/**
 * The vault-transit KEK behind its `kms.vault-transit` upstream, against the
 * local Vault Transit fake over real HTTP with scripted outages: a hanging
 * Vault is cut off at the deadline (a 503 for the client, the request aborted
 * on the wire), transient 5xx are retried, repeated failures open the circuit
 * breaker (calls refused without reaching Vault), and it closes again once
 * Vault recovers. Vault's 4xx answers are neither retried nor counted.
 */
import pino from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DecryptionFailed, KekUnavailableError, VaultTransitKek } from "../../src/crypto/index.js";
import { VAULT_TRANSIT_UPSTREAM, vaultTransitUpstreamOptions } from "../../src/crypto/kek/vault-transit.js";
import { createUpstream, upstreamFailure, type Upstream, type UpstreamOptions } from "../../src/resilience/index.js";
import { mapError } from "../../src/server/plugins/errors.js";
import { startVaultFake, type VaultFake } from "./fixtures/vault-fake.js";
import { failure, sleep } from "../helpers/async.js";

const TIMEOUT_MS = 150;
const HALF_OPEN_MS = 300;
const ctx = { "rampart:purpose": "dek" };
const log = pino({ level: "silent" });
let vault: VaultFake;

beforeAll(async () => {
  vault = await startVaultFake();
  // The Transit key exists before any test: a KEK's first check is then one GET.
  await new VaultTransitKek({ addr: vault.addr, mount: "transit", key: "rampart", token: async () => vault.token, log }).current();
});
afterAll(() => vault.close());
beforeEach(() => vault.faults.reset());

/** The built-in settings with a short deadline, backoff and cooldown for the test. */
function upstream(overrides: Partial<UpstreamOptions> = {}): Upstream {
  return createUpstream(VAULT_TRANSIT_UPSTREAM, {
    ...vaultTransitUpstreamOptions(TIMEOUT_MS),
    backoff: { initialDelayMs: 10, maxDelayMs: 30 },
    breaker: { kind: "consecutive", failures: 3, halfOpenAfterMs: HALF_OPEN_MS },
    ...overrides,
  });
}

/**
 * A KEK that has checked its Transit key and made a data key through a
 * healthy Vault (two successful calls on its upstream), so each later call is
 * one request.
 */
async function kek(u: Upstream): Promise<VaultTransitKek> {
  const k = new VaultTransitKek({ addr: vault.addr, mount: "transit", key: "rampart", token: async () => vault.token, log, upstream: u });
  await k.generateDataKey(ctx);
  vault.faults.reset();
  return k;
}

describe("vault-transit KEK through the kms.vault-transit upstream", () => {
  it("(Vault HTTP fake) a hanging Vault is cut off at the deadline: KekUnavailableError answered 503, the request aborted on the wire", async () => {
    const u = upstream({ retries: 0 });
    const k = await kek(u);
    vault.faults.mode = "hang";
    const started = performance.now();
    const err = await failure(k.generateDataKey(ctx));
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(KekUnavailableError);
    expect(err).not.toBeInstanceOf(DecryptionFailed);
    expect(upstreamFailure(err.cause)?.kind).toBe("timeout");
    expect(mapError(err).code).toBe("SERVICE_UNAVAILABLE");
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 10);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1_000);
    expect(await vault.faults.abandonedAtLeast(1)).toBe(1);
    expect(u.stats()).toMatchObject({ calls: 3, successes: 2, failures: 1, timeouts: 1 });
  });

  it("(Vault HTTP fake) retries an idempotent call through transient 503s with backoff: Vault sees three attempts", async () => {
    const u = upstream();
    const k = await kek(u);
    vault.faults.plan.push(503, 503);
    const generated = await k.generateDataKey(ctx);
    expect(vault.faults.hits).toBe(3);
    expect((await k.unwrap(generated.ref, generated.wrapped, ctx)).equals(generated.dek)).toBe(true);
    expect(u.stats()).toMatchObject({ retries: 2, failures: 0, breaker: "closed" });
  });

  it("(Vault HTTP fake) a hanging Vault is retried too, each attempt under its own deadline", async () => {
    const u = upstream();
    const k = await kek(u);
    vault.faults.plan.push("hang", "hang");
    const started = performance.now();
    await k.generateDataKey(ctx);
    expect(performance.now() - started).toBeGreaterThanOrEqual(2 * TIMEOUT_MS - 10);
    expect(vault.faults.hits).toBe(3);
    expect(u.stats()).toMatchObject({ timeouts: 2, retries: 2, successes: 3, failures: 0 });
  });

  it("(Vault HTTP fake) repeated failures open the breaker: calls are refused without reaching Vault, until a trial call after the cooldown closes it", async () => {
    const u = upstream({ retries: 0 });
    const k = await kek(u);
    vault.faults.mode = 500;
    for (let i = 0; i < 3; i++) expect(mapError(await failure(k.generateDataKey(ctx))).code).toBe("SERVICE_UNAVAILABLE");
    expect(vault.faults.hits).toBe(3);
    expect(u.breakerState).toBe("open");

    const refused = await failure(k.generateDataKey(ctx));
    expect(refused).toBeInstanceOf(KekUnavailableError);
    expect(upstreamFailure(refused.cause)?.kind).toBe("breaker_open");
    expect(mapError(refused).code).toBe("SERVICE_UNAVAILABLE");
    expect(vault.faults.hits).toBe(3);

    vault.faults.mode = "ok";
    await sleep(HALF_OPEN_MS + 50);
    const generated = await k.generateDataKey(ctx);
    expect(generated.dek).toHaveLength(32);
    expect(vault.faults.hits).toBe(4);
    expect(u.breakerState).toBe("closed");
    expect(u.stats()).toMatchObject({ failures: 4, breakerOpens: 1, rejections: { breakerOpen: 1, bulkheadFull: 0 } });
  });

  it("(Vault HTTP fake) Vault's 4xx answers (bad ciphertext, bad token) are neither retried nor counted by the breaker", async () => {
    const u = upstream();
    const k = await kek(u);
    const generated = await k.generateDataKey(ctx);
    vault.faults.reset();
    // Vault answers 400 for a ciphertext that does not authenticate under this context.
    for (let i = 0; i < 4; i++) await expect(k.unwrap(generated.ref, generated.wrapped, { "rampart:purpose": "other" })).rejects.toBeInstanceOf(DecryptionFailed);
    // And 403 to a token it does not know.
    const denied = new VaultTransitKek({ addr: vault.addr, mount: "transit", key: "rampart", token: async () => "hvs.revoked-token", log, upstream: u });
    for (let i = 0; i < 4; i++) {
      const err = await failure(denied.generateDataKey(ctx));
      expect(err).toBeInstanceOf(KekUnavailableError);
      // A token Vault refuses needs an operator, not a retry later: not a 503.
      expect(mapError(err).code).toBe("INTERNAL_ERROR");
    }
    expect(vault.faults.hits).toBe(8);
    expect(u.breakerState).toBe("closed");
    expect(u.stats().retries).toBe(0);
  });
});
