/**
 * The revocation list while the kv store is unreachable, on a manual clock:
 * checks answer from the instance's copy for at most `staleMaxMs` after its
 * last successful sync (not after the first failure), then fail closed with
 * 503 and Retry-After; the list trusts itself again only after a sync that
 * fetched what it missed; a revoke it cannot make durable is refused here at
 * once, answered 503, and written to the log once the store is back. The
 * outage is injected into one instance's kv client (its reads or writes
 * reject, as ioredis does while disconnected); the other instance and the
 * store itself stay real (Redis in postgres mode). test/ops/redis-outage
 * drives the same through a real cut connection.
 */
import { describe, expect, it } from "vitest";
import { REVOCATION_RETRY_AFTER_SECONDS } from "../../../src/auth/revocation/index.js";
import type { KvStore } from "../../../src/kv/types.js";
import { testModes } from "../../helpers/modes.js";
import { eventually } from "../tokens/helpers.js";
import { codeOf, useRevocationLists, wrap } from "./fixtures.js";

/** A kv client whose every call rejects while `down` is set, as a disconnected one does. */
function flaky(kv: KvStore): { kv: KvStore; down: boolean; calls: number } {
  const state = { kv, down: false, calls: 0 };
  const gate =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      state.calls++;
      return state.down ? Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false")) : fn(...args);
    };
  state.kv = wrap(kv, {
    get: gate((k: string) => kv.get(k)),
    set: gate((k: string, v: string, o?: Parameters<KvStore["set"]>[2]) => kv.set(k, v, o)),
    increment: gate((k: string, by: number, ttl: number) => kv.increment(k, by, ttl)),
    publish: gate((c: string, m: string) => kv.publish(c, m)),
  });
  return state;
}

describe.each(testModes())("revocation list while the kv store is unreachable (%s)", (mode) => {
  const fx = useRevocationLists(mode);
  const list = fx.list.bind(fx);

  it("answers from its copy until staleMaxMs after the last successful sync, then fails closed with Retry-After", async () => {
    const store = flaky(fx.stores.runtimes[1].kv);
    const [a, l] = [await list(fx.stores.runtimes[0]), await list(fx.stores.runtimes[1], { kv: store.kv, staleMaxMs: 30_000 })];
    await a.revokeSession(`known-${mode}`);
    expect(await l.isRevoked(`live-${mode}`)).toBe(false); // a sync, now
    expect(l.health()).toMatchObject({ state: "synced", failingSince: null, staleMaxMs: 30_000 });

    fx.stores.clock.advance(10_000);
    store.down = true;
    // The first failure comes 10 s after the last sync: 20 s are left, not 30.
    expect(await l.isRevoked(`live-${mode}`)).toBe(false);
    expect(await l.isRevoked(`known-${mode}`)).toBe(true);
    expect(l.health()).toMatchObject({ state: "stale", remainingMs: 20_000, syncAgeMs: 10_000 });
    fx.stores.clock.advance(19_999);
    expect(await codeOf(l.assertNotRevoked(`live-${mode}`))).toBe("ACCEPTED");
    expect(await codeOf(l.assertNotRevoked(`known-${mode}`))).toBe("TOKEN_REVOKED");

    fx.stores.clock.advance(1);
    const err = (await l.assertNotRevoked(`live-${mode}`).catch((e: unknown) => e)) as { code?: string; headers?: Record<string, string> };
    expect(err.code).toBe("SERVICE_UNAVAILABLE");
    expect(err.headers).toEqual({ "retry-after": String(REVOCATION_RETRY_AFTER_SECONDS) });
    expect(l.health()).toMatchObject({ state: "closed", remainingMs: 0 });
    // A revocation it knows is still a revocation, not an outage.
    expect(await codeOf(l.assertNotRevoked(`known-${mode}`))).toBe("TOKEN_REVOKED");
  });

  it("with staleMaxMs 0, a check that cannot reach the log fails closed at once", async () => {
    const store = flaky(fx.stores.runtimes[0].kv);
    const l = await list(fx.stores.runtimes[0], { kv: store.kv, staleMaxMs: 0 });
    expect(await l.isRevoked("any")).toBe(false);
    store.down = true;
    expect(await codeOf(l.assertNotRevoked("any"))).toBe("SERVICE_UNAVAILABLE");
    expect(l.health().state).toBe("closed");
  });

  it("honours a revocation made elsewhere during the outage once a resync fetched it, and only then trusts itself again", async () => {
    const store = flaky(fx.stores.runtimes[1].kv);
    const [a, l] = [await list(fx.stores.runtimes[0]), await list(fx.stores.runtimes[1], { kv: store.kv, staleMaxMs: 30_000 })];
    expect(await l.isRevoked(`elsewhere-${mode}`)).toBe(false);
    store.down = true;
    expect(await l.isRevoked(`elsewhere-${mode}`)).toBe(false);
    await a.revokeSession(`elsewhere-${mode}`); // durable in the store; this instance cannot read it
    expect(await l.isRevoked(`elsewhere-${mode}`)).toBe(false); // the documented window

    store.down = false;
    fx.stores.clock.advance(1_000); // the retry interval
    // Checks do not wait on the store while degraded: one starts the resync, a later one sees its result.
    await eventually(() => l.isRevoked(`elsewhere-${mode}`));
    expect(l.health()).toMatchObject({ state: "synced", failingSince: null });
    // Exact again: the next revocation elsewhere is refused here at once.
    await a.revokeSession(`after-${mode}`);
    expect(await l.isRevoked(`after-${mode}`)).toBe(true);
  });

  it("an instance that never synced (store down at start) fails closed until a load succeeds", async () => {
    const a = await list(fx.stores.runtimes[0]);
    await a.revokeSession(`before-start-${mode}`);
    const store = flaky(fx.stores.runtimes[1].kv);
    store.down = true;
    const l = await list(fx.stores.runtimes[1], { kv: store.kv, staleMaxMs: 30_000 });
    expect(l.health()).toMatchObject({ state: "closed", syncedAt: null, syncAgeMs: null });
    expect(await codeOf(l.assertNotRevoked(`other-${mode}`))).toBe("SERVICE_UNAVAILABLE");
    const check = l.healthCheck();
    expect(await check.probe()).toMatchObject({ status: "fail", output: expect.stringContaining("never synced") });

    store.down = false;
    fx.stores.clock.advance(1_000);
    await eventually(async () => (await codeOf(l.assertNotRevoked(`before-start-${mode}`))) === "TOKEN_REVOKED");
    expect(await check.probe()).toEqual({ status: "pass" });
  });

  it("a revoke it cannot make durable fails with 503, is refused here at once, and reaches the log once the store is back", async () => {
    const store = flaky(fx.stores.runtimes[0].kv);
    const [l, b] = [await list(fx.stores.runtimes[0], { kv: store.kv, staleMaxMs: 30_000 }), await list(fx.stores.runtimes[1])];
    expect(await l.isRevoked(`x-${mode}`)).toBe(false);
    store.down = true;
    const err = (await l.revokeSessions([`down-1-${mode}`, `down-2-${mode}`]).catch((e: unknown) => e)) as { code?: string; headers?: Record<string, string> };
    expect(err.code).toBe("SERVICE_UNAVAILABLE");
    expect(err.headers).toEqual({ "retry-after": String(REVOCATION_RETRY_AFTER_SECONDS) });
    expect(await l.isRevoked(`down-1-${mode}`)).toBe(true);
    expect(await l.isRevoked(`down-2-${mode}`)).toBe(true);
    expect(await b.isRevoked(`down-1-${mode}`)).toBe(false); // not durable: that is why it was not acknowledged
    expect(l.health()).toMatchObject({ state: "stale", pendingWrites: 1 });

    store.down = false;
    fx.stores.clock.advance(1_000);
    await l.isRevoked(`y-${mode}`); // starts the resync, which writes what is pending
    await eventually(() => l.health().pendingWrites === 0);
    expect(await b.isRevoked(`down-1-${mode}`)).toBe(true);
    expect(await b.isRevoked(`down-2-${mode}`)).toBe(true);
  });

  it("while degraded, checks never wait on the store: at most one retry a second", async () => {
    const store = flaky(fx.stores.runtimes[0].kv);
    const l = await list(fx.stores.runtimes[0], { kv: store.kv, staleMaxMs: 30_000 });
    expect(await l.isRevoked("a")).toBe(false);
    store.down = true;
    expect(await l.isRevoked("a")).toBe(false); // the failure that starts the outage
    store.calls = 0;
    expect((await Promise.all(Array.from({ length: 100 }, (_, i) => l.isRevoked(`c-${i}`)))).every((r) => r === false)).toBe(true);
    expect(store.calls).toBe(0);
    fx.stores.clock.advance(1_000);
    await Promise.all(Array.from({ length: 100 }, (_, i) => l.isRevoked(`d-${i}`)));
    expect(store.calls).toBe(1);
  });

  it("readiness: pass in sync, warn within the bound naming redis, fail once closed", async () => {
    const store = flaky(fx.stores.runtimes[0].kv);
    const l = await list(fx.stores.runtimes[0], { kv: store.kv, staleMaxMs: 30_000 });
    const check = l.healthCheck();
    expect(check.name).toBe("revocations");
    expect(await check.probe()).toEqual({ status: "pass" });
    store.down = true;
    await l.isRevoked("z");
    fx.stores.clock.advance(5_000);
    expect(await check.probe()).toEqual({ status: "warn", output: "kv store (redis) unreachable; answering from this instance's copy, last synced 5 s ago, for at most 25 s more" });
    fx.stores.clock.advance(25_000);
    expect(await check.probe()).toEqual({ status: "fail", output: "kv store (redis) unreachable; last synced 30 s ago, past the staleness bound of 30 s: authenticated requests fail closed" });
  });

  it("refuses a bound that is not a whole number of ms >= 0", async () => {
    for (const staleMaxMs of [-1, 1.5, Number.NaN]) await expect(list(fx.stores.runtimes[0], { staleMaxMs })).rejects.toThrow(`staleMaxMs must be an integer >= 0, instead got ${staleMaxMs}`);
  });
});
