import { readdirSync, readFileSync } from "node:fs";
import { getPriority } from "node:os";
import { describe, expect, it, vi } from "vitest";
import { defaultHashConcurrency } from "../../../src/auth/password/index.js";
import { isRampartError } from "../../../src/errors/index.js";
import { FLOOR, hasherWith } from "./helpers.js";

// argon2id reference vector from phc-winner-argon2 src/test.c ("password",
// salt "somesalt", m=2^16, t=2, p=1). The RFC 9106 §5.3 argon2id vector cannot
// be replayed here: it needs associated data (12 bytes of 0x04), an input
// @node-rs/argon2 does not expose. The Debian argon2 CLI interop test checks
// our hashes against the reference implementation instead.
const REF_ARGON2ID = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
// The same test.c, argon2i v1.3 at m=2^8: legacy variants still verify (and get rehashed).
const REF_ARGON2I = "$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8";

const PHC = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;

describe("password hasher", () => {
  it("hashes to an argon2id PHC string at the configured parameters with a fresh 16-byte salt", async () => {
    const hasher = hasherWith(FLOOR);
    const a = await hasher.hash("correct horse battery staple");
    const b = await hasher.hash("correct horse battery staple");
    expect(a).toMatch(PHC);
    expect(b).toMatch(PHC);
    expect(a).not.toBe(b);
    expect(await hasher.verify(a, "correct horse battery staple")).toEqual({ ok: true, needsRehash: false });
    expect(await hasher.verify(a, "correct horse battery stapl")).toEqual({ ok: false, needsRehash: false });
  });

  it("verifies the reference implementation's test vectors and asks to rehash them", async () => {
    const hasher = hasherWith(FLOOR);
    expect(await hasher.verify(REF_ARGON2ID, "password")).toEqual({ ok: true, needsRehash: true });
    expect(await hasher.verify(REF_ARGON2ID, "passwore")).toEqual({ ok: false, needsRehash: false });
    expect(await hasher.verify(REF_ARGON2I, "password")).toEqual({ ok: true, needsRehash: true });
  });

  it("upgrades: a hash made with other parameters verifies with needsRehash, the new hash does not", async () => {
    const old = hasherWith({ memoryKib: 4096, iterations: 1, parallelism: 1 });
    const current = hasherWith(FLOOR);
    const legacy = await old.hash("an old but fine passphrase");
    expect(legacy).toContain("$m=4096,t=1,p=1$");
    const result = await current.verify(legacy, "an old but fine passphrase");
    expect(result).toEqual({ ok: true, needsRehash: true });
    const upgraded = await current.hash("an old but fine passphrase");
    expect(await current.verify(upgraded, "an old but fine passphrase")).toEqual({ ok: true, needsRehash: false });
    // Stronger than configured also differs: rehash to the configured cost.
    expect(old.needsRehash(upgraded)).toBe(true);
  });

  it("refuses a stored value that is not an argon2 PHC string instead of reporting a mismatch", async () => {
    const hasher = hasherWith(FLOOR);
    await expect(hasher.verify("$2b$10$abcdefghijklmnopqrstuv", "whatever password")).rejects.toThrow(/not an argon2 PHC string/);
  });

  it("computes off the event loop: timers keep firing while a hash runs", async () => {
    const hasher = hasherWith({ memoryKib: 65_536, iterations: 3, parallelism: 1 });
    await hasher.dummyVerify("warm up");
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    const pending = hasher.hash("a long enough test password");
    const syncMs = performance.now() - t0;
    await pending;
    const totalMs = performance.now() - t0;
    clearInterval(timer);
    // Were the work on the calling thread, hash() would return only after it
    // and no timer could fire in between.
    expect(totalMs).toBeGreaterThan(20);
    expect(syncMs).toBeLessThan(totalMs / 5);
    expect(ticks).toBeGreaterThanOrEqual(5);
  });

  it("caps concurrent computations and queues the rest (stats and observations)", async () => {
    const observed: { op: string; waitMs: number; durationMs: number }[] = [];
    const hasher = hasherWith({ memoryKib: 8192, iterations: 2, parallelism: 1 }, { maxConcurrency: 1, observe: (o) => observed.push(o) });
    await hasher.dummyVerify("warm up");
    let maxActive = 0;
    let maxQueued = 0;
    const sampler = setInterval(() => {
      const s = hasher.stats();
      maxActive = Math.max(maxActive, s.active);
      maxQueued = Math.max(maxQueued, s.queued);
    }, 1);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 8 }, (_, i) => hasher.hash(`parallel ${i} password`)));
    const elapsed = performance.now() - t0;
    clearInterval(sampler);
    expect(maxActive).toBe(1);
    expect(maxQueued).toBeGreaterThanOrEqual(5);
    const stats = hasher.stats();
    expect(stats).toMatchObject({ maxConcurrency: 1, active: 0, queued: 0, rejected: 0, completed: { hash: 1 + 8, verify: 0, dummy: 1 } });
    expect(stats.compute.count).toBe(10);
    expect(stats.wait.maxMs).toBeGreaterThan(0);
    // With one slot the burst's computations do not overlap: their durations
    // add up to the wall-clock time (two at once would add up to about twice it).
    const computeMs = observed.slice(-8).reduce((sum, o) => sum + o.durationMs, 0);
    expect(computeMs).toBeLessThan(1.3 * elapsed);
  });

  it("sheds load with 503 SERVICE_UNAVAILABLE and Retry-After when the queue is full", async () => {
    const hasher = hasherWith({ memoryKib: 8192, iterations: 2, parallelism: 1 }, { maxConcurrency: 1, maxQueue: 2 });
    await hasher.dummyVerify("warm up");
    const results = await Promise.allSettled(Array.from({ length: 7 }, (_, i) => hasher.hash(`burst ${i} password`)));
    const rejected = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason as unknown);
    // Accepted: the one computing, the next one the worker holds, and two in the queue.
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(4);
    expect(rejected).toHaveLength(3);
    for (const err of rejected) {
      expect(isRampartError(err) && err.code === "SERVICE_UNAVAILABLE" && err.status === 503).toBe(true);
      expect(isRampartError(err) ? err.headers : undefined).toEqual({ "Retry-After": "1" });
    }
    expect(hasher.stats().rejected).toBe(3);
  });

  it("hashes on its own threads at the configured niceness; the event loop's priority is untouched", async () => {
    const mainNice = getPriority(0);
    const hasher = hasherWith({ memoryKib: 1024, iterations: 1, parallelism: 1 }, { maxConcurrency: 2, workerNice: 15 });
    await Promise.all([hasher.hash("a long enough test password"), hasher.hash("another long test password")]);
    expect(await hasher.workerNiceness()).toEqual([15, 15]);
    // Independently of what the workers report: the kernel's view of every thread of this process
    // (field 19 of /proc/<pid>/task/<tid>/stat, counted after the ")" that ends the command name).
    const niceOf = (tid: string) => Number(readFileSync(`/proc/self/task/${tid}/stat`, "utf8").split(") ")[1]!.split(" ")[16]);
    const tids = readdirSync("/proc/self/task");
    expect(tids.filter((t) => niceOf(t) === 15)).toHaveLength(2);
    expect(niceOf(String(process.pid))).toBe(mainNice);
    expect(getPriority(0)).toBe(mainNice);
    // Closing lets a computation in flight finish (graceful shutdown), then refuses new ones.
    const slow = hasherWith({ memoryKib: 65536, iterations: 4, parallelism: 1 }, { maxConcurrency: 1 });
    await slow.dummyVerify("warm up");
    const inFlight = slow.hash("a long enough test password");
    const heldNext = slow.hash("another long test password").catch((e: unknown) => e);
    await vi.waitFor(() => expect(slow.stats()).toMatchObject({ active: 1, queued: 1 }), { timeout: 5_000, interval: 1 }); // the worker has started the first one
    await slow.close();
    await expect(inFlight).resolves.toMatch(/^\$argon2id\$/);
    // The task the worker held behind it never started: refused like a queued one.
    const held = await heldNext;
    expect(isRampartError(held) && held.code === "SERVICE_UNAVAILABLE").toBe(true);
    await hasher.close();
    // A request still queued at shutdown gets 503 with Retry-After, not an internal error.
    const late = await hasher.hash("a long enough test password").catch((e: unknown) => e);
    expect(isRampartError(late) && late.code === "SERVICE_UNAVAILABLE" && late.headers?.["Retry-After"] === "1").toBe(true);
  });

  it("refuses a niceness outside 0..19", () => {
    expect(() => hasherWith(FLOOR, { workerNice: 20 })).toThrow("nice must be an integer from 0 to 19, instead got 20");
  });

  it("defaults the concurrency cap to one thread fewer than the cores, at least one", async () => {
    const { availableParallelism } = await import("node:os");
    expect(hasherWith(FLOOR).maxConcurrency).toBe(Math.max(1, availableParallelism() - 1));
    expect([1, 2, 3, 8].map((cores) => defaultHashConcurrency(cores))).toEqual([1, 1, 2, 7]);
    expect(hasherWith(FLOOR, { maxConcurrency: 3 }).maxConcurrency).toBe(3);
  });
});
