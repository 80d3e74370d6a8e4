/**
 * The session revocation list across instances sharing the kv store (two
 * runtimes on one Redis in postgres mode; one process in embedded mode): a
 * revoked session is refused on the other instance as soon as `revoke`
 * resolves, without a database query and whether or not its message arrives;
 * late starters load what is in force; concurrent checks share one kv read;
 * revocations expire with the token lifetime; a kv outage fails closed once
 * past the staleness bound (staleness.test.ts).
 */
import { describe, expect, it } from "vitest";
import { REVOCATIONS_CHANNEL } from "../../../src/auth/revocation/index.js";
import { EPOCH_KEY, logKey } from "../../../src/auth/revocation/revocation-log.js";
import { testModes } from "../../helpers/modes.js";
import { eventually } from "../tokens/helpers.js";
import { codeOf, RETENTION, useRevocationLists, wrap } from "./fixtures.js";




describe.each(testModes())("revocation list (%s)", (mode) => {
  const fx = useRevocationLists(mode);
  const list = fx.list.bind(fx);

  it("a session revoked on one instance is refused on the other as soon as revoke resolves", async () => {
    const [a, b] = [await list(fx.stores.runtimes[0]), await list(fx.stores.runtimes[1])];
    // Many rounds, each checked on the other instance with no wait: no round may slip through.
    for (let i = 0; i < 200; i++) {
      const sid = `sess-${mode}-${i}`;
      expect(await b.isRevoked(sid)).toBe(false);
      await a.revokeSession(sid);
      expect(await b.isRevoked(sid)).toBe(true);
      expect(await a.isRevoked(sid)).toBe(true);
    }
    expect(await b.isRevoked("never-revoked")).toBe(false);
  });

  it("revokes all of a user's sessions by their sids, and only those", async () => {
    const [a, b] = [await list(fx.stores.runtimes[0]), await list(fx.stores.runtimes[1])];
    await a.revokeSessions(["u1-a", "u1-b", "u1-c"]);
    for (const sid of ["u1-a", "u1-b", "u1-c"]) expect(await b.isRevoked(sid)).toBe(true);
    expect(await b.isRevoked("u2-a")).toBe(false);
    await a.revokeSessions([]);
    await expect(a.revokeSessions(["ok", ""])).rejects.toThrow(TypeError);
    expect(await b.isRevoked("ok")).toBe(false);
  });

  it("feeds every instance's local set through pub/sub (pubsub mode answers from it alone)", async () => {
    const a = await list(fx.stores.runtimes[0]);
    const b = await list(fx.stores.runtimes[1], { consistency: "pubsub" });
    await a.revokeSession("pubsub-1");
    await eventually(async () => b.localEntries > 0 && (await b.isRevoked("pubsub-1")));
  });

  it("keeps a revocation for the token lifetime plus skew, then forgets it", async () => {
    const a = await list(fx.stores.runtimes[0]);
    await a.revokeSession(`ttl-${mode}`);
    const epoch = Number(await fx.stores.runtimes[0].kv.get(EPOCH_KEY));
    const ttl = await fx.stores.runtimes[0].kv.ttl(logKey(epoch));
    expect(ttl).toBeGreaterThan(RETENTION - 5_000);
    expect(ttl).toBeLessThanOrEqual(RETENTION);
    fx.stores.clock.advance(RETENTION);
    expect(await a.isRevoked(`ttl-${mode}`)).toBe(false);
  });

  it("an instance started later loads the revocations still in force", async () => {
    const a = await list(fx.stores.runtimes[0]);
    await a.revokeSessions([`late-1-${mode}`, `late-2-${mode}`]);
    const late = await list(fx.stores.runtimes[1], { consistency: "pubsub" });
    expect(await late.isRevoked(`late-1-${mode}`)).toBe(true);
    expect(await late.isRevoked(`late-2-${mode}`)).toBe(true);
  });

  it("strict checks do not depend on pub/sub delivery", async () => {
    const kv = fx.stores.runtimes[0].kv;
    const silent = wrap(kv, { publish: () => Promise.resolve() }); // every message lost
    const a = await list(fx.stores.runtimes[0], { kv: silent });
    const strict = await list(fx.stores.runtimes[1]);
    const pubsub = await list(fx.stores.runtimes[1], { consistency: "pubsub", syncIntervalMs: 50 });
    await a.revokeSession(`lost-${mode}`);
    expect(await strict.isRevoked(`lost-${mode}`)).toBe(true);
    // pub/sub mode catches up at its next resync.
    await eventually(() => pubsub.isRevoked(`lost-${mode}`));
  });

  it("concurrent checks share one kv read", async () => {
    const kv = fx.stores.runtimes[1].kv;
    let gets = 0;
    const counting = wrap(kv, { get: (key: string) => ((gets += 1), kv.get(key)) });
    const b = await list(fx.stores.runtimes[1], { kv: counting, syncIntervalMs: 0 });
    gets = 0;
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => b.isRevoked(`live-${i}`)));
    expect(results.every((r) => r === false)).toBe(true);
    expect(gets).toBeLessThanOrEqual(2);
  });

  it("a revoke that failed half-way (counter taken, entry never written) does not stall checks", async () => {
    const kv = fx.stores.runtimes[0].kv;
    const [a, b] = [await list(fx.stores.runtimes[0]), await list(fx.stores.runtimes[1])];
    await kv.increment(EPOCH_KEY, 1, 86_400_000); // a writer that died after taking its epoch
    await a.revokeSession(`after-gap-${mode}`);
    expect(await b.isRevoked(`after-gap-${mode}`)).toBe(true);
    expect(await b.isRevoked(`unrelated-${mode}`)).toBe(false);
    fx.stores.clock.advance(5_000); // the missing entry is given up after its grace
    expect(await b.isRevoked(`unrelated-${mode}`)).toBe(false);
    await a.revokeSession(`after-grace-${mode}`);
    expect(await b.isRevoked(`after-grace-${mode}`)).toBe(true);
  });

  it("starts over when the kv store lost its state", async () => {
    const kv = fx.stores.runtimes[0].kv;
    const [a, b] = [await list(fx.stores.runtimes[0]), await list(fx.stores.runtimes[1])];
    await a.revokeSession(`before-reset-${mode}`);
    expect(await b.isRevoked(`before-reset-${mode}`)).toBe(true);
    await kv.del(EPOCH_KEY); // as after a flush
    expect(await b.isRevoked(`x-${mode}`)).toBe(false);
    await a.revokeSession(`after-reset-${mode}`);
    expect(await b.isRevoked(`after-reset-${mode}`)).toBe(true);
  });

  it("fails closed when the kv store cannot be read and no staleness is allowed (staleness.test.ts: the bound)", async () => {
    const kv = fx.stores.runtimes[0].kv;
    let down = false;
    const l = await list(fx.stores.runtimes[0], { staleMaxMs: 0, kv: wrap(kv, { get: (key: string) => (down ? Promise.reject(new Error("connection refused")) : kv.get(key)) }) });
    down = true;
    expect(await codeOf(l.assertNotRevoked("any"))).toBe("SERVICE_UNAVAILABLE");
  });

  it("ignores malformed revocation messages", async () => {
    const l = await list(fx.stores.runtimes[1], { consistency: "pubsub" });
    const before = l.localEntries;
    for (const m of ["not json", "{}", JSON.stringify({ sids: "x", until: 1 }), JSON.stringify({ sids: [1, ""], until: Date.now() * 2 })]) {
      await fx.stores.runtimes[0].kv.publish(REVOCATIONS_CHANNEL, m);
    }
    await fx.stores.runtimes[0].kv.publish(REVOCATIONS_CHANNEL, JSON.stringify({ sids: ["after-junk"], until: fx.stores.clock.now() + RETENTION }));
    await eventually(() => l.isRevoked("after-junk"));
    expect(l.localEntries).toBe(before + 1);
  });
});
