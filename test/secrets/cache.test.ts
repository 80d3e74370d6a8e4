/**
 * The cache in front of the providers: TTL, single-flight, refresh ahead of
 * expiry, stale-if-error within its bound, negative caching, chain order,
 * timeouts and the lifecycle. Time is a ManualClock; the provider counts calls.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { InvalidSecretNameError, SecretLoadError, SecretNotFoundError, SecretsClosedError } from "../../src/secrets/index.js";
import { deferred, events, FakeProvider, harness, type Harness } from "./helpers.js";

const SECOND = 1000;
let open: Harness[] = [];

function make(...args: Parameters<typeof harness>): Harness {
  const h = harness(...args);
  open.push(h);
  return h;
}

afterEach(async () => {
  await Promise.all(open.map((h) => h.secrets.close()));
  open = [];
});

describe("TTL", () => {
  it("serves the cached value until SECRETS_CACHE_TTL_SECONDS has passed, then reloads", async () => {
    const p = new FakeProvider().set("api-key", "first-value");
    const { secrets, clock } = make({ providers: [p], configEnv: { SECRETS_CACHE_TTL_SECONDS: "300" } });
    expect(await secrets.get("api-key")).toBe("first-value");
    p.set("api-key", "second-value");
    clock.advance(200 * SECOND);
    expect(await secrets.get("api-key")).toBe("first-value");
    expect(p.calls).toBe(1);
    clock.advance(100 * SECOND);
    expect(await secrets.get("api-key")).toBe("second-value");
    expect(p.calls).toBe(2);
    expect(secrets.stats()).toMatchObject({ hits: 1, misses: 2 });
  });

  it("caches a miss for the TTL too, then finds a secret added since", async () => {
    const p = new FakeProvider();
    const { secrets, clock } = make({ providers: [p] });
    expect(await secrets.getOptional("webhook-secret")).toBeUndefined();
    expect(await secrets.getOptional("webhook-secret")).toBeUndefined();
    expect(p.calls).toBe(1);
    p.set("webhook-secret", "whsec-123456");
    clock.advance(300 * SECOND);
    expect(await secrets.getOptional("webhook-secret")).toBe("whsec-123456");
  });
});

describe("single-flight", () => {
  it("makes one provider call for many concurrent gets of a cold name", async () => {
    const p = new FakeProvider().set("master-key", "cold-value-1");
    const gate = deferred();
    p.gate = gate.promise;
    const { secrets } = make({ providers: [p] });
    const reads = Array.from({ length: 20 }, (_, i) => (i % 2 ? secrets.get("master-key") : secrets.getOptional("master-key")));
    gate.resolve();
    expect(await Promise.all(reads)).toEqual(Array.from({ length: 20 }, () => "cold-value-1"));
    expect(p.calls).toBe(1);
  });

  it("shares one failure among concurrent callers and counts it once", async () => {
    const p = new FakeProvider();
    p.failWith = new Error("backend down");
    const gate = deferred();
    p.gate = gate.promise;
    const { secrets } = make({ providers: [p] });
    const reads = Array.from({ length: 5 }, () => secrets.get("master-key"));
    gate.resolve();
    const results = await Promise.allSettled(reads);
    expect(results.every((r) => r.status === "rejected" && r.reason instanceof SecretLoadError)).toBe(true);
    expect(p.calls).toBe(1);
    expect(secrets.stats().loadErrors).toBe(1);
  });
});

describe("refresh ahead of expiry", () => {
  it("answers readers from the cache while a background reload runs past 80% of the TTL", async () => {
    const p = new FakeProvider().set("jwt-signing", "old-signing-key");
    const { secrets, clock } = make({ providers: [p] });
    await secrets.get("jwt-signing");
    p.set("jwt-signing", "new-signing-key");
    const gate = deferred();
    p.gate = gate.promise;
    clock.advance(250 * SECOND);
    // The provider is blocked: a reader that waited for it would never get here.
    expect(await secrets.get("jwt-signing")).toBe("old-signing-key");
    expect(await secrets.get("jwt-signing")).toBe("old-signing-key");
    expect(p.calls).toBe(2);
    gate.resolve();
    await vi.waitFor(async () => expect(await secrets.get("jwt-signing")).toBe("new-signing-key"));
    expect(p.calls).toBe(2);
  });

  it("refreshDue (the timer's work) reloads only entries past their refresh point", async () => {
    const p = new FakeProvider().set("a-key", "value-aaaa").set("b-key", "value-bbbb");
    const { secrets, clock } = make({ providers: [p] });
    await secrets.get("a-key");
    clock.advance(100 * SECOND);
    await secrets.get("b-key");
    clock.advance(150 * SECOND); // a-key at 250 s (past 240 s), b-key at 150 s
    await secrets.refreshDue();
    expect(p.calls).toBe(3);
    await secrets.refreshDue();
    expect(p.calls).toBe(3);
  });

  it("runs on its own timer when an interval is set", async () => {
    const p = new FakeProvider().set("a-key", "value-aaaa");
    const { secrets, clock } = make({ providers: [p], refreshIntervalMs: 10 });
    await secrets.get("a-key");
    clock.advance(250 * SECOND);
    await vi.waitFor(() => expect(p.calls).toBe(2));
  });
});

describe("stale-if-error", () => {
  it("serves the last value with a warning and a counter while the provider fails, until the bound", async () => {
    const p = new FakeProvider().set("database-url", "postgres://u:pw-123456@db/app");
    const { secrets, clock, logs } = make({ providers: [p], configEnv: { SECRETS_CACHE_TTL_SECONDS: "300", SECRETS_STALE_IF_ERROR_SECONDS: "3600" } });
    await secrets.get("database-url");
    p.failWith = new Error("connection refused");
    clock.advance(301 * SECOND);
    expect(await secrets.get("database-url")).toBe("postgres://u:pw-123456@db/app");
    expect(secrets.stats()).toMatchObject({ staleServes: 1, loadErrors: 1 });
    const [warning] = events(logs, "secret.stale");
    expect(warning).toMatchObject({ level: "warn", secretName: "database-url", provider: "fake" });

    // Within the backoff the provider is not called again; the stale value is still served and counted.
    expect(await secrets.get("database-url")).toBe("postgres://u:pw-123456@db/app");
    expect(p.calls).toBe(2);
    expect(secrets.stats().staleServes).toBe(2);

    clock.advance((300 + 3600 - 301 - 1) * SECOND); // 1 s before the bound
    expect(await secrets.get("database-url")).toBe("postgres://u:pw-123456@db/app");
    clock.advance(2 * SECOND); // past TTL + bound
    await expect(secrets.get("database-url")).rejects.toBeInstanceOf(SecretLoadError);

    p.failWith = undefined;
    p.set("database-url", "postgres://u:pw-654321@db/app");
    expect(await secrets.get("database-url")).toBe("postgres://u:pw-654321@db/app");
  });

  it("fails at expiry when SECRETS_STALE_IF_ERROR_SECONDS is 0", async () => {
    const p = new FakeProvider().set("database-url", "postgres://db/app");
    const { secrets, clock } = make({ providers: [p], configEnv: { SECRETS_STALE_IF_ERROR_SECONDS: "0" } });
    await secrets.get("database-url");
    p.failWith = new Error("down");
    clock.advance(300 * SECOND);
    await expect(secrets.get("database-url")).rejects.toBeInstanceOf(SecretLoadError);
  });

  it("keeps a fresh value when a background refresh fails, and logs it", async () => {
    const p = new FakeProvider().set("api-key", "api-value-1");
    const { secrets, clock, logs } = make({ providers: [p] });
    await secrets.get("api-key");
    p.failWith = new Error("throttled");
    clock.advance(250 * SECOND);
    await secrets.refreshDue();
    expect(await secrets.get("api-key")).toBe("api-value-1");
    expect(events(logs, "secret.refresh_failed")).toHaveLength(1);
    expect(secrets.stats().staleServes).toBe(0);
  });
});

describe("provider chain", () => {
  it("takes the first provider that has the name, in chain order", async () => {
    const first = new FakeProvider("first").set("shared", "from-first");
    const second = new FakeProvider("second").set("shared", "from-second").set("only-second", "second-only");
    const { secrets } = make({ providers: [first, second] });
    expect(await secrets.get("shared")).toBe("from-first");
    expect(await secrets.get("only-second")).toBe("second-only");
    expect(second.calls).toBe(1);
  });

  it("does not fall through to a later provider when an earlier one fails", async () => {
    const first = new FakeProvider("first");
    first.failWith = new Error("denied");
    const second = new FakeProvider("second").set("shared", "older-value");
    const { secrets } = make({ providers: [first, second] });
    const err = await secrets.get("shared").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretLoadError);
    expect((err as SecretLoadError).provider).toBe("first");
    expect(second.calls).toBe(0);
  });

  it("reports a missing secret with every place it looked", async () => {
    const { secrets } = make({ providers: [new FakeProvider("first"), new FakeProvider("second")] });
    const err = await secrets.get("stripe-webhook").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretNotFoundError);
    expect((err as Error).message).toBe('secret "stripe-webhook" not found; looked in: first (stripe-webhook), second (stripe-webhook)');
  });

  it("treats an empty value as unset", async () => {
    const { secrets } = make({ providers: [new FakeProvider("first").set("k-one", ""), new FakeProvider("second").set("k-one", "non-empty")] });
    expect(await secrets.get("k-one")).toBe("non-empty");
  });

  it("abandons a provider call at SECRETS_PROVIDER_TIMEOUT_MS and aborts its signal", async () => {
    const p = new FakeProvider().set("slow", "never-seen");
    p.gate = new Promise(() => undefined);
    const { secrets } = make({ providers: [p], configEnv: { SECRETS_PROVIDER_TIMEOUT_MS: "100" } });
    await expect(secrets.get("slow")).rejects.toThrow(/could not be loaded from fake: timed out after 100 ms/);
    expect(p.lastSignal?.aborted).toBe(true);
  });
});

describe("operations", () => {
  it("refresh(name) reloads at once; refresh() reloads every cached name", async () => {
    const p = new FakeProvider().set("a-key", "value-a-1").set("b-key", "value-b-1");
    const { secrets } = make({ providers: [p] });
    await secrets.get("a-key");
    await secrets.get("b-key");
    p.set("a-key", "value-a-2").set("b-key", "value-b-2");
    await secrets.refresh("a-key");
    expect(await secrets.get("a-key")).toBe("value-a-2");
    expect(await secrets.get("b-key")).toBe("value-b-1");
    await secrets.refresh();
    expect(await secrets.get("b-key")).toBe("value-b-2");
    p.failWith = new Error("down");
    await expect(secrets.refresh()).rejects.toBeInstanceOf(AggregateError);
  });

  it("getPrevious returns the provider's previous version and is cached until the value rotates", async () => {
    const p = new FakeProvider().set("jwt-signing", "current-key-2", "v2");
    p.previousValues.set("jwt-signing", { value: "previous-key-1", version: "v1" });
    const { secrets } = make({ providers: [p] });
    expect(await secrets.getPrevious("jwt-signing")).toBe("previous-key-1");
    expect(await secrets.getPrevious("jwt-signing")).toBe("previous-key-1");
    expect(p.previousCalls).toBe(1);
    p.set("jwt-signing", "current-key-3", "v3");
    p.previousValues.set("jwt-signing", { value: "current-key-2", version: "v2" });
    await secrets.refresh("jwt-signing");
    expect(await secrets.getPrevious("jwt-signing")).toBe("current-key-2");
  });

  it("rejects names that are not kebab-case", async () => {
    const { secrets } = make({ providers: [new FakeProvider()] });
    for (const bad of ["MASTER_KEY", "master_key", "-x", "a--b", "", "../etc/passwd", "a/b"]) {
      await expect(secrets.get(bad)).rejects.toBeInstanceOf(InvalidSecretNameError);
    }
  });

  it("keeps counters per instance", async () => {
    const a = make({ providers: [new FakeProvider().set("k-one", "value-1")] });
    const b = make({ providers: [new FakeProvider()] });
    await a.secrets.get("k-one");
    await a.secrets.get("k-one");
    expect(a.secrets.stats()).toEqual({ hits: 1, misses: 1, staleServes: 0, loadErrors: 0, rotations: 0, loads: 1 });
    expect(b.secrets.stats()).toEqual({ hits: 0, misses: 0, staleServes: 0, loadErrors: 0, rotations: 0, loads: 0 });
  });

  it("close() stops the service and closes providers", async () => {
    const p = new FakeProvider().set("k-one", "value-1");
    const closed = vi.fn();
    Object.assign(p, { close: closed });
    const { secrets } = harness({ providers: [p], refreshIntervalMs: 5 });
    await secrets.get("k-one");
    await secrets.close();
    expect(closed).toHaveBeenCalledTimes(1);
    await expect(secrets.get("k-one")).rejects.toBeInstanceOf(SecretsClosedError);
  });
});
