/**
 * RevocationList on its own, without a database: lists over one in-memory kv
 * store (several lists on it are several instances), a manual clock, and a
 * kv client per instance that can be taken down, left hanging or made to drop
 * its messages. Down, it rejects with the KvUnavailableError the Redis client
 * throws for a lost connection (src/kv/unavailable.ts). Covers revoke and
 * check in `strict` and `pubsub` mode, the resync timer, the staleness bound
 * to the millisecond (503 SERVICE_UNAVAILABLE with Retry-After at it), the
 * retry pace while degraded, revokes made while the store is down (503,
 * refused here, written once it is back, dropped once expired), readiness,
 * the operator's log lines, and close.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_STALE_MAX_MS, RevocationList, REVOCATION_RETRY_AFTER_SECONDS, REVOCATIONS_CHANNEL, type RevocationListOptions } from "../../../src/auth/revocation/revocation-list.js";
import { EPOCH_KEY, logKey } from "../../../src/auth/revocation/revocation-log.js";
import { RampartError } from "../../../src/errors/index.js";
import { MemoryKv } from "../../../src/kv/memory.js";
import type { KvStore, SetOptions, Unsubscribe } from "../../../src/kv/types.js";
import { KvUnavailableError } from "../../../src/kv/unavailable.js";
import type { Logger } from "../../../src/log/index.js";
import { ManualClock } from "../../../src/runtime/clock.js";

/** Token lifetime (15 min) plus 30 s of skew. */
const RETENTION = 930_000;
const STALE_LOG = "kv store unreachable: revocation checks answer from this instance's copy until the staleness bound, then fail closed";
const CLOSED_LOG = "kv store unreachable: revocation checks fail closed";
const PAST_BOUND_LOG = "revocation list past its staleness bound: authenticated requests fail closed (503) until the kv store is back";
const BACK_LOG = "revocation list in sync with the kv store again";
const NOT_WRITTEN_LOG = "revocation not written to the kv store: refused on this instance now, written to the kv log once the store is back; answered 503";
const NOT_PUBLISHED_LOG = "could not publish a revocation; other instances read it from the kv log";
const PENDING_FAILED_LOG = "revocations made while the kv store was down not written yet; retried at a later sync";
const LOST_LOG = "revocations made while the kv store was down were never written to it; other instances accept their access tokens until they expire";

type Mode = "up" | "down" | "hang";

/** One instance's client of the shared store: counts its calls and can be taken down or left hanging. */
class TestKv implements KvStore {
  readonly kind = "memory" as const;
  reads: Mode = "up";
  writes: Mode = "up";
  /** `drop`: resolves without delivering, as a message lost on the way. */
  publishes: Mode | "drop" = "up";
  readonly calls = { get: 0, set: 0, increment: 0, publish: 0 };
  private readonly hung: (() => void)[] = [];

  constructor(private readonly inner: MemoryKv) {}

  set down(down: boolean) {
    this.reads = this.writes = this.publishes = down ? "down" : "up";
  }

  resetCalls(): void {
    for (const k of Object.keys(this.calls) as (keyof TestKv["calls"])[]) this.calls[k] = 0;
  }

  /** Lets the hanging calls go on to the store. */
  release(): void {
    for (const go of this.hung.splice(0)) go();
  }

  private gate<R>(mode: Mode, call: () => Promise<R>): Promise<R> {
    // What RedisKv throws while its connection is down (rethrowKvError on ioredis's error).
    if (mode === "down") return Promise.reject(new KvUnavailableError(new Error("Connection is closed.")));
    if (mode === "hang") return new Promise<R>((resolve, reject) => this.hung.push(() => void call().then(resolve, reject)));
    return call();
  }

  get(key: string): Promise<string | null> {
    this.calls.get++;
    return this.gate(this.reads, () => this.inner.get(key));
  }
  set(key: string, value: string, options?: SetOptions): Promise<boolean> {
    this.calls.set++;
    return this.gate(this.writes, () => this.inner.set(key, value, options));
  }
  increment(key: string, by: number, ttlMs: number): Promise<number> {
    this.calls.increment++;
    return this.gate(this.writes, () => this.inner.increment(key, by, ttlMs));
  }
  publish(channel: string, message: string): Promise<void> {
    this.calls.publish++;
    if (this.publishes === "drop") return Promise.resolve();
    return this.gate(this.publishes, () => this.inner.publish(channel, message));
  }
  subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe> {
    return this.inner.subscribe(channel, handler);
  }
  del(key: string): Promise<boolean> {
    return this.inner.del(key);
  }
  consume(key: string): Promise<string | null> {
    return this.inner.consume(key);
  }
  ttl(key: string): Promise<number | null> {
    return this.inner.ttl(key);
  }
  ping(): Promise<void> {
    return this.inner.ping();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface LogCall {
  level: string;
  fields: Record<string, unknown> | undefined;
  msg: string;
}

/** A logger that keeps its calls (pino's `(fields, msg)` and `(msg)` forms). */
function recordingLogger(): { log: Logger; calls: LogCall[]; at(level: string, msg?: string): LogCall[] } {
  const calls: LogCall[] = [];
  const level =
    (name: string) =>
    (a: unknown, b?: unknown): void => {
      calls.push(typeof a === "string" ? { level: name, fields: undefined, msg: a } : { level: name, fields: a as Record<string, unknown>, msg: String(b) });
    };
  const log = { info: level("info"), warn: level("warn"), error: level("error"), debug: level("debug"), trace: level("trace"), fatal: level("fatal") } as unknown as Logger;
  return { log, calls, at: (l, msg) => calls.filter((c) => c.level === l && (msg === undefined || c.msg === msg)) };
}

/** Lets pub/sub delivery (setImmediate) and the background syncs and writes (promise chains on the memory store) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

/** The error a promise rejected with; fails the test when it resolved. */
async function rejection(p: Promise<unknown>): Promise<RampartError> {
  try {
    await p;
  } catch (err) {
    return err as RampartError;
  }
  throw new Error("resolved");
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => "ACCEPTED",
    (err: { code?: string }) => err.code ?? "THREW",
  );
}

function expectUnavailable(err: RampartError): void {
  expect(err).toBeInstanceOf(RampartError);
  expect(err).toMatchObject({ code: "SERVICE_UNAVAILABLE", status: 503, message: "The service is temporarily unavailable.", headers: { "retry-after": "5" } });
  expect(REVOCATION_RETRY_AFTER_SECONDS).toBe(5);
  expect(err.cause).toBeInstanceOf(KvUnavailableError);
  expect((err.cause as Error).message).toBe("kv store unavailable (Connection is closed.)");
}

describe("RevocationList", () => {
  let clock: ManualClock;
  let store: MemoryKv;
  let logs: ReturnType<typeof recordingLogger>;
  const lists: RevocationList[] = [];

  beforeEach(() => {
    clock = new ManualClock();
    store = new MemoryKv({ clock });
    logs = recordingLogger();
  });
  afterEach(async () => {
    vi.useRealTimers();
    for (const l of lists.splice(0)) await l.close();
    await store.close();
  });

  /** One instance's client of the shared store. */
  const client = (): TestKv => new TestKv(store);
  /** A list (an instance) on `kv`, no resync timer unless asked. */
  async function list(kv: KvStore = client(), extra: Partial<RevocationListOptions> = {}): Promise<RevocationList> {
    const l = await RevocationList.create({ kv, clock, log: logs.log, retentionMs: RETENTION, syncIntervalMs: 0, ...extra });
    lists.push(l);
    return l;
  }

  describe("options", () => {
    it("refuses a retention that is not > 0, naming what it got", async () => {
      for (const retentionMs of [0, -1, Number.NaN]) {
        await expect(list(client(), { retentionMs })).rejects.toThrow(new RangeError(`retentionMs must be > 0, instead got ${retentionMs}`));
      }
      const l = await list(client(), { retentionMs: 1 });
      await l.revokeSession("s");
      expect(await l.isRevoked("s")).toBe(true);
      clock.advance(1);
      expect(await l.isRevoked("s")).toBe(false);
    });

    it("refuses a staleness bound that is not a whole number of ms >= 0, before adding the pubsub lag", async () => {
      const message = (v: number) => new RangeError(`staleMaxMs must be an integer >= 0, instead got ${v}`);
      for (const staleMaxMs of [-1, 1.5, Number.NaN, 2 ** 53]) await expect(list(client(), { staleMaxMs })).rejects.toThrow(message(staleMaxMs));
      // With the lag added these would be valid bounds (9 999 ms, 2 ms): the option itself is refused.
      await expect(list(client(), { consistency: "pubsub", staleMaxMs: -1, syncIntervalMs: undefined })).rejects.toThrow(message(-1));
      await expect(list(client(), { consistency: "pubsub", staleMaxMs: 1.5, syncIntervalMs: 0.5 })).rejects.toThrow(message(1.5));
    });

    it("bounds staleness by staleMaxMs (default 30 s), plus one resync interval in pubsub mode", async () => {
      expect(DEFAULT_STALE_MAX_MS).toBe(30_000);
      expect((await list()).health().staleMaxMs).toBe(30_000);
      expect((await list(client(), { staleMaxMs: 5_000 })).health().staleMaxMs).toBe(5_000);
      expect((await list(client(), { consistency: "pubsub", syncIntervalMs: undefined })).health().staleMaxMs).toBe(40_000);
      expect((await list(client(), { consistency: "pubsub", syncIntervalMs: 0 })).health().staleMaxMs).toBe(30_000);
      expect((await list(client(), { consistency: "pubsub", syncIntervalMs: 2_000, staleMaxMs: 5_000 })).health().staleMaxMs).toBe(7_000);
      expect((await list(client(), { consistency: "strict", syncIntervalMs: 2_000, staleMaxMs: 5_000 })).health().staleMaxMs).toBe(5_000);
    });
  });

  describe("revoke and check", () => {
    it("refuses a revoked session with TOKEN_REVOKED and accepts the others", async () => {
      const l = await list();
      await l.revokeSession("gone");
      expect(await l.isRevoked("gone")).toBe(true);
      expect(await l.isRevoked("alive")).toBe(false);
      const err = await rejection(l.assertNotRevoked("gone"));
      expect(err).toBeInstanceOf(RampartError);
      expect(err).toMatchObject({ code: "TOKEN_REVOKED", status: 401, message: "The token has been revoked." });
      await expect(l.assertNotRevoked("alive")).resolves.toBeUndefined();
      expect(logs.calls).toEqual([]);
    });

    it("writes one log entry per revoke, kept for the retention, and publishes it with its epoch", async () => {
      const messages: unknown[] = [];
      await store.subscribe(REVOCATIONS_CHANNEL, (m) => messages.push(JSON.parse(m)));
      const l = await list();
      const t = clock.now();
      await l.revokeSessions(["a", "b", "c"]);
      clock.advance(10);
      await l.revokeSession("d");
      expect(await store.get(EPOCH_KEY)).toBe("2");
      expect(JSON.parse((await store.get(logKey(1)))!)).toEqual({ sids: ["a", "b", "c"], until: t + RETENTION });
      expect(JSON.parse((await store.get(logKey(2)))!)).toEqual({ sids: ["d"], until: t + 10 + RETENTION });
      expect(await store.ttl(logKey(2))).toBe(RETENTION);
      await settle();
      expect(messages).toEqual([
        { sids: ["a", "b", "c"], until: t + RETENTION, epoch: 1 },
        { sids: ["d"], until: t + 10 + RETENTION, epoch: 2 },
      ]);
      expect(l.localEntries).toBe(4);
    });

    it("keeps a session revoked for the retention, to the millisecond", async () => {
      const l = await list();
      await l.revokeSession("s");
      clock.advance(RETENTION - 1);
      expect(await l.isRevoked("s")).toBe(true);
      clock.advance(1);
      expect(await l.isRevoked("s")).toBe(false);
    });

    it("revoking no session writes nothing", async () => {
      const kv = client();
      const l = await list(kv);
      await expect(l.revokeSessions([])).resolves.toBeUndefined();
      expect(kv.calls.increment).toBe(0);
      expect(await store.get(EPOCH_KEY)).toBeNull();
    });

    it("refuses sids that are not strings of 1 to 256 characters, before writing any", async () => {
      const kv = client();
      const l = await list(kv);
      for (const sid of ["", "x".repeat(257), 42, undefined]) {
        await expect(l.revokeSession(sid as string)).rejects.toThrow(new TypeError(`sid must be a string of 1 to 256 characters, instead got '${String(sid)}'`));
      }
      await expect(l.revokeSessions(["ok", ""])).rejects.toThrow(TypeError);
      expect(kv.calls.increment).toBe(0);
      expect(await l.isRevoked("ok")).toBe(false);
      await l.revokeSession("x".repeat(256));
      expect(await l.isRevoked("x".repeat(256))).toBe(true);
    });

    it("strict (the default): a revoke on another instance is refused here at once, its message lost; pubsub mode waits for a sync", async () => {
      const kvA = client();
      kvA.publishes = "drop";
      const a = await list(kvA);
      const strict = await list();
      const pubsub = await list(client(), { consistency: "pubsub" });
      await a.revokeSession("s");
      expect(await strict.isRevoked("s")).toBe(true);
      expect(await pubsub.isRevoked("s")).toBe(false);
      await settle();
      expect(await pubsub.isRevoked("s")).toBe(false);
    });

    it("pubsub mode takes a revocation from its message, without reading the store", async () => {
      const a = await list();
      const kv = client();
      const pubsub = await list(kv, { consistency: "pubsub" });
      kv.resetCalls();
      await a.revokeSession("s");
      expect(await pubsub.isRevoked("s")).toBe(false); // delivery is asynchronous
      await settle();
      expect(await pubsub.isRevoked("s")).toBe(true);
      expect(await pubsub.isRevoked("other")).toBe(false);
      expect(pubsub.localEntries).toBe(1);
      expect(kv.calls.get).toBe(0);
    });

    it("strict: a session known revoked is answered locally, a miss reads the counter once", async () => {
      const a = await list();
      const kv = client();
      const b = await list(kv);
      await a.revokeSession("s");
      expect(await b.isRevoked("s")).toBe(true); // fetched: counter and entry
      kv.resetCalls();
      expect(await b.isRevoked("s")).toBe(true);
      expect(kv.calls.get).toBe(0);
      expect(await b.isRevoked("other")).toBe(false);
      expect(kv.calls.get).toBe(1);
    });

    it("an entry that came by message is not fetched again by the next sync", async () => {
      const a = await list();
      const kv = client();
      const b = await list(kv);
      await a.revokeSession("s");
      await settle();
      kv.resetCalls();
      expect(await b.isRevoked("s")).toBe(true);
      expect(await b.isRevoked("other")).toBe(false);
      expect(kv.calls.get).toBe(1); // the counter only
    });

    it("ignores a malformed message with a warning, and keeps applying good ones", async () => {
      const l = await list(client(), { consistency: "pubsub" });
      for (const m of ["not json", "{}", JSON.stringify({ sids: "x", until: 1 })]) await store.publish(REVOCATIONS_CHANNEL, m);
      await store.publish(REVOCATIONS_CHANNEL, JSON.stringify({ sids: ["later"], until: clock.now() + 1_000 }));
      await settle();
      expect(logs.calls).toEqual([1, 2, 3].map(() => ({ level: "warn", fields: undefined, msg: "malformed revocation message ignored" })));
      expect(await l.isRevoked("later")).toBe(true);
      expect(l.localEntries).toBe(1);
    });

    it("a revoke whose message cannot be published still resolves: it is durable, strict checks elsewhere read it", async () => {
      const kvA = client();
      kvA.publishes = "down";
      const a = await list(kvA);
      const b = await list();
      await expect(a.revokeSession("s")).resolves.toBeUndefined();
      expect(await b.isRevoked("s")).toBe(true);
      const [warn] = logs.at("warn");
      expect(logs.calls).toHaveLength(1);
      expect(warn!.msg).toBe(NOT_PUBLISHED_LOG);
      expect(warn!.fields!.err).toBeInstanceOf(KvUnavailableError);
      expect(a.health()).toMatchObject({ state: "synced", pendingWrites: 0 });
    });
  });

  describe("resync timer", () => {
    it("pubsub mode resyncs every 10 s by default: a lost message is caught up at the next one", async () => {
      vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
      const kvA = client();
      kvA.publishes = "drop";
      const a = await list(kvA);
      const pubsub = await list(client(), { consistency: "pubsub", syncIntervalMs: undefined });
      await a.revokeSession("s");
      await vi.advanceTimersByTimeAsync(9_999);
      await settle();
      expect(await pubsub.isRevoked("s")).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await settle();
      expect(await pubsub.isRevoked("s")).toBe(true);
    });

    it("syncIntervalMs 0 turns the resync off", async () => {
      vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
      const kv = client();
      const pubsub = await list(kv, { consistency: "pubsub", syncIntervalMs: 0 });
      kv.resetCalls();
      await vi.advanceTimersByTimeAsync(60_000);
      await settle();
      expect(kv.calls.get).toBe(0);
      expect(pubsub.health().state).toBe("synced");
    });

    it("resyncs on the interval given, and close stops it", async () => {
      vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
      const kv = client();
      const pubsub = await list(kv, { consistency: "pubsub", syncIntervalMs: 1_000 });
      kv.resetCalls();
      await vi.advanceTimersByTimeAsync(3_000);
      await settle();
      expect(kv.calls.get).toBe(3);
      await pubsub.close();
      kv.resetCalls();
      await vi.advanceTimersByTimeAsync(5_000);
      await settle();
      expect(kv.calls.get).toBe(0);
    });
  });

  describe("while the kv store is down", () => {
    it("answers from its copy until staleMaxMs after the last successful sync, then fails closed with 503 and Retry-After", async () => {
      const a = await list();
      const kv = client();
      const l = await list(kv, { staleMaxMs: 30_000 });
      await a.revokeSession("known");
      const syncedAt = clock.now();
      expect(await l.isRevoked("live")).toBe(false); // a sync, now
      expect(l.health()).toEqual({ state: "synced", syncedAt, syncAgeMs: 0, failingSince: null, remainingMs: 30_000, staleMaxMs: 30_000, pendingWrites: 0 });

      clock.advance(10_000);
      kv.down = true;
      // The first failure comes 10 s after the last sync: 20 s are left, not 30.
      expect(await l.isRevoked("live")).toBe(false);
      expect(await l.isRevoked("known")).toBe(true);
      expect(l.health()).toEqual({ state: "stale", syncedAt, syncAgeMs: 10_000, failingSince: syncedAt + 10_000, remainingMs: 20_000, staleMaxMs: 30_000, pendingWrites: 0 });
      expect(logs.calls).toHaveLength(1);
      expect(logs.calls[0]).toMatchObject({ level: "warn", msg: STALE_LOG, fields: { staleMaxMs: 30_000, remainingMs: 20_000 } });
      expect(logs.calls[0]!.fields!.err).toBeInstanceOf(KvUnavailableError);

      clock.advance(19_999);
      expect(await codeOf(l.assertNotRevoked("live"))).toBe("ACCEPTED");
      expect(await codeOf(l.assertNotRevoked("known"))).toBe("TOKEN_REVOKED");
      expect(l.health()).toMatchObject({ state: "stale", remainingMs: 1 });

      clock.advance(1);
      expectUnavailable(await rejection(l.assertNotRevoked("live")));
      expect(l.health()).toMatchObject({ state: "closed", remainingMs: 0 });
      expect(logs.at("error")).toEqual([{ level: "error", fields: { staleMaxMs: 30_000 }, msg: PAST_BOUND_LOG }]);
      // Logged once per outage, however many requests fail; a revocation it knows is still a revocation.
      expectUnavailable(await rejection(l.assertNotRevoked("live")));
      expect(await codeOf(l.assertNotRevoked("known"))).toBe("TOKEN_REVOKED");
      expect(logs.at("error")).toHaveLength(1);
      expect(logs.at("warn")).toHaveLength(1);
    });

    it("trusts itself again after a sync, logs how long it was down, and logs the next outage again", async () => {
      const kvA = client();
      kvA.publishes = "drop"; // this instance learns A's revocations from the log only
      const a = await list(kvA);
      const kv = client();
      const l = await list(kv, { staleMaxMs: 5_000 });
      const down = clock.now();
      kv.down = true;
      expect(await l.isRevoked("x")).toBe(false);
      clock.advance(6_000);
      await a.revokeSession("during");
      expectUnavailable(await rejection(l.isRevoked("y"))); // and a retry, which fails
      await settle();
      expect(logs.at("error")).toHaveLength(1);

      kv.down = false;
      clock.advance(1_000); // the last retry failed at +6 s: the next one is due at +7 s
      expect(await codeOf(l.assertNotRevoked("during"))).toBe("SERVICE_UNAVAILABLE"); // starts the resync; does not wait for it
      await settle();
      expect(clock.now() - down).toBe(7_000);
      expect(logs.at("info")).toEqual([{ level: "info", fields: { downMs: 7_000 }, msg: BACK_LOG }]);
      expect(l.health()).toMatchObject({ state: "synced", failingSince: null, syncAgeMs: 0 });
      expect(await codeOf(l.assertNotRevoked("during"))).toBe("TOKEN_REVOKED");
      await a.revokeSession("after");
      expect(await l.isRevoked("after")).toBe(true);
      expect(logs.at("info")).toHaveLength(1); // an ordinary sync logs nothing

      kv.down = true;
      expect(await l.isRevoked("z")).toBe(false);
      clock.advance(5_000);
      expectUnavailable(await rejection(l.isRevoked("z")));
      expect(logs.at("error")).toHaveLength(2);
      expect(logs.at("warn", STALE_LOG)).toHaveLength(2);
    });

    it("with staleMaxMs 0, a check that cannot reach the log fails closed at once", async () => {
      const kv = client();
      const l = await list(kv, { staleMaxMs: 0 });
      expect(await l.isRevoked("any")).toBe(false);
      kv.down = true;
      expectUnavailable(await rejection(l.assertNotRevoked("any")));
      expect(l.health()).toMatchObject({ state: "closed", remainingMs: 0, staleMaxMs: 0 });
      expect(logs.at("warn")).toHaveLength(1);
      expect(logs.at("warn")[0]).toMatchObject({ msg: CLOSED_LOG, fields: { staleMaxMs: 0, remainingMs: 0 } });
    });

    it("pubsub mode: fails closed once past the bound plus the resync interval", async () => {
      const kv = client();
      const l = await list(kv, { consistency: "pubsub", staleMaxMs: 1_000, syncIntervalMs: 0 });
      const probe = l.healthCheck().probe;
      kv.down = true;
      await probe(); // starts a sync, which fails
      await settle();
      expect(l.health().state).toBe("stale");
      clock.advance(999);
      expect(await l.isRevoked("s")).toBe(false);
      clock.advance(1);
      expectUnavailable(await rejection(l.isRevoked("s")));
    });

    it("an instance that never synced (store down at start) fails closed until a load succeeds", async () => {
      const a = await list();
      await a.revokeSession("before-start");
      const kv = client();
      kv.down = true;
      const l = await list(kv, { staleMaxMs: 30_000 });
      expect(l.health()).toEqual({ state: "closed", syncedAt: null, syncAgeMs: null, failingSince: clock.now(), remainingMs: 0, staleMaxMs: 30_000, pendingWrites: 0 });
      expect(logs.at("warn")).toMatchObject([{ msg: CLOSED_LOG, fields: { staleMaxMs: 30_000, remainingMs: 0 } }]);
      expectUnavailable(await rejection(l.assertNotRevoked("other")));
      const check = l.healthCheck();
      const never = { status: "fail", output: "never synced with the kv store (redis); authenticated requests fail closed" };
      expect(await check.probe()).toEqual(never);

      kv.down = false;
      expect(await check.probe()).toEqual(never); // within the retry interval: no new attempt
      await settle();
      expect(await check.probe()).toEqual(never);
      clock.advance(1_000);
      expect(await check.probe()).toEqual(never); // starts the load
      await settle();
      expect(await check.probe()).toEqual({ status: "pass" });
      expect(await codeOf(l.assertNotRevoked("before-start"))).toBe("TOKEN_REVOKED");
    });

    it("retries the store at most once a second, from the moment of the last failure", async () => {
      const kv = client();
      const l = await list(kv, { staleMaxMs: 30_000 });
      expect(await l.isRevoked("a")).toBe(false);
      kv.down = true;
      expect(await l.isRevoked("a")).toBe(false); // the failure that starts the outage
      kv.resetCalls();
      const many = async (): Promise<void> => {
        expect((await Promise.all(Array.from({ length: 50 }, (_, i) => l.isRevoked(`c-${i}`)))).every((r) => r === false)).toBe(true);
      };
      await many();
      clock.advance(999);
      await many();
      await settle();
      expect(kv.calls.get).toBe(0);
      clock.advance(1);
      await many();
      expect(kv.calls.get).toBe(1);
      await settle(); // that retry fails too: the next one is a second later
      clock.advance(999);
      await many();
      await settle();
      expect(kv.calls.get).toBe(1);
      clock.advance(1);
      await many();
      await settle();
      expect(kv.calls.get).toBe(2);
      expect(logs.at("warn")).toHaveLength(1);
    });

    it("runs one background sync at a time, even when the store hangs", async () => {
      const kv = client();
      const l = await list(kv, { staleMaxMs: 30_000 });
      expect(await l.isRevoked("a")).toBe(false);
      kv.down = true;
      expect(await l.isRevoked("a")).toBe(false);
      kv.down = false;
      kv.reads = "hang";
      kv.resetCalls();
      clock.advance(1_000);
      expect(await l.isRevoked("b")).toBe(false);
      expect(kv.calls.get).toBe(1);
      clock.advance(1_000);
      expect(await l.isRevoked("c")).toBe(false);
      expect(await l.healthCheck().probe()).toMatchObject({ status: "warn" });
      await settle();
      expect(kv.calls.get).toBe(1);
      kv.reads = "up";
      kv.release();
      await settle();
      expect(kv.calls.get).toBe(1);
      expect(l.health()).toMatchObject({ state: "synced", failingSince: null });
    });
  });

  describe("a revoke while the kv store is down", () => {
    it("fails with 503, is refused here at once, and is written to the log once the store is back", async () => {
      const kv = client();
      const l = await list(kv, { staleMaxMs: 30_000 });
      const b = await list();
      expect(await l.isRevoked("x")).toBe(false);
      kv.down = true;
      const t = clock.now();
      const err = await rejection(l.revokeSessions(["d1", "d2"]));
      expectUnavailable(err);
      expect(logs.at("warn", NOT_WRITTEN_LOG)).toEqual([{ level: "warn", fields: { err: err.cause, sessions: 2 }, msg: NOT_WRITTEN_LOG }]);
      expect(await l.isRevoked("d1")).toBe(true);
      expect(await l.isRevoked("d2")).toBe(true);
      expect(await b.isRevoked("d1")).toBe(false); // not durable: that is why it was not acknowledged
      expect(l.health()).toMatchObject({ state: "stale", failingSince: t, pendingWrites: 1 });

      kv.down = false;
      clock.advance(1_000);
      await l.isRevoked("y"); // starts the resync, which writes what is pending
      await settle();
      expect(l.health()).toMatchObject({ state: "synced", pendingWrites: 0 });
      expect(await b.isRevoked("d1")).toBe(true);
      expect(await b.isRevoked("d2")).toBe(true);
      expect(await store.get(EPOCH_KEY)).toBe("1");
      // Written with the time it was made, not the time it reached the store.
      expect(JSON.parse((await store.get(logKey(1)))!)).toEqual({ sids: ["d1", "d2"], until: t + RETENTION });
    });

    it("is still written just before it would expire, and dropped at that moment", async () => {
      for (const late of [RETENTION - 1, RETENTION]) {
        await store.del(EPOCH_KEY);
        const kv = client();
        const l = await list(kv, { staleMaxMs: 30_000 });
        const b = await list();
        kv.down = true;
        const t = clock.now();
        await rejection(l.revokeSession(`s-${late}`));
        kv.down = false;
        clock.set(t + late);
        kv.resetCalls();
        await l.isRevoked("y").catch(() => undefined); // past the bound: 503, but the resync starts
        await settle();
        expect(l.health().pendingWrites).toBe(0);
        const written = late < RETENTION;
        expect(kv.calls.increment).toBe(written ? 1 : 0);
        expect(await store.get(EPOCH_KEY)).toBe(written ? "1" : null);
        clock.set(t + RETENTION - 1);
        expect(await b.isRevoked(`s-${late}`)).toBe(written);
        await l.close();
        await b.close();
      }
    });

    it("a pending write that fails stays pending and is tried again a second later, not sooner", async () => {
      const kv = client();
      const l = await list(kv, { staleMaxMs: 30_000 });
      const b = await list();
      kv.down = true;
      await rejection(l.revokeSession("p"));
      kv.reads = "up";
      kv.publishes = "up";
      clock.advance(1_000);
      kv.resetCalls();
      await l.isRevoked("x"); // the resync succeeds, the write does not
      await settle();
      expect(kv.calls.increment).toBe(1);
      expect(l.health()).toMatchObject({ state: "synced", pendingWrites: 1 });
      const [warn] = logs.at("warn", PENDING_FAILED_LOG);
      expect(logs.at("warn", PENDING_FAILED_LOG)).toHaveLength(1);
      expect(warn!.fields).toMatchObject({ pending: 1 });
      expect(warn!.fields!.err).toBeInstanceOf(KvUnavailableError);

      kv.writes = "up";
      clock.advance(999);
      expect(await l.isRevoked("x")).toBe(false); // a sync: no write yet
      await settle();
      expect(kv.calls.increment).toBe(1);
      clock.advance(1);
      expect(await l.isRevoked("x")).toBe(false);
      await settle();
      expect(kv.calls.increment).toBe(2);
      expect(l.health().pendingWrites).toBe(0);
      expect(await b.isRevoked("p")).toBe(true);
    });

    it("pending revocations are written in order by one writer at a time", async () => {
      const kv = client();
      const l = await list(kv, { staleMaxMs: 30_000 });
      const b = await list();
      kv.down = true;
      await rejection(l.revokeSession("p1"));
      await rejection(l.revokeSession("p2"));
      expect(l.health().pendingWrites).toBe(2);
      kv.down = false;
      kv.writes = "hang";
      clock.advance(1_000);
      kv.resetCalls();
      await l.isRevoked("x"); // the resync succeeds; the first write hangs
      await settle();
      expect(kv.calls.increment).toBe(1);
      expect(await l.isRevoked("x")).toBe(false); // another sync: the writer is busy, no second one
      await settle();
      expect(kv.calls.increment).toBe(1);
      kv.writes = "up";
      kv.release();
      await settle();
      expect(kv.calls.increment).toBe(2);
      expect(l.health().pendingWrites).toBe(0);
      expect(JSON.parse((await store.get(logKey(1)))!).sids).toEqual(["p1"]);
      expect(JSON.parse((await store.get(logKey(2)))!).sids).toEqual(["p2"]);
      expect(await b.isRevoked("p1")).toBe(true);
      expect(await b.isRevoked("p2")).toBe(true);
    });
  });

  describe("readiness and close", () => {
    it("readiness: pass in sync, warn within the bound naming redis, fail once closed", async () => {
      const kv = client();
      const l = await list(kv, { staleMaxMs: 30_000 });
      const check = l.healthCheck();
      expect(check.name).toBe("revocations");
      expect(await check.probe()).toEqual({ status: "pass" });
      kv.down = true;
      await l.isRevoked("z");
      clock.advance(5_000);
      expect(await check.probe()).toEqual({ status: "warn", output: "kv store (redis) unreachable; answering from this instance's copy, last synced 5 s ago, for at most 25 s more" });
      clock.advance(25_000);
      expect(await check.probe()).toEqual({ status: "fail", output: "kv store (redis) unreachable; last synced 30 s ago, past the staleness bound of 30 s: authenticated requests fail closed" });
    });

    it("the probe itself notices a lost store (a pubsub list never reads it on a check)", async () => {
      const kv = client();
      const l = await list(kv, { consistency: "pubsub", staleMaxMs: 30_000 });
      const check = l.healthCheck();
      kv.down = true;
      expect(await l.isRevoked("z")).toBe(false);
      expect(l.health().state).toBe("synced");
      expect(await check.probe()).toEqual({ status: "pass" }); // the sync it started has not failed yet
      await settle();
      expect(await check.probe()).toEqual({ status: "warn", output: "kv store (redis) unreachable; answering from this instance's copy, last synced 0 s ago, for at most 30 s more" });
    });

    it("close stops listening and forgets the local copy", async () => {
      const a = await list();
      const l = await list(client(), { consistency: "pubsub" });
      await a.revokeSessions(["s1", "s2"]);
      await settle();
      expect(l.localEntries).toBe(2);
      await l.close();
      expect(l.localEntries).toBe(0);
      await a.revokeSession("s3");
      await settle();
      expect(l.localEntries).toBe(0);
      await expect(l.close()).resolves.toBeUndefined();
      expect(logs.calls).toEqual([]);
    });

    it("close warns about the revocations it could not write that are still in force, and only those", async () => {
      const kv = client();
      const l = await list(kv, { staleMaxMs: 30_000 });
      kv.down = true;
      const t = clock.now();
      await rejection(l.revokeSession("p1"));
      clock.advance(10);
      await rejection(l.revokeSession("p2"));
      clock.set(t + RETENTION); // p1 has run out, p2 has 10 ms left
      await l.close();
      expect(logs.at("warn", LOST_LOG)).toEqual([{ level: "warn", fields: { revocations: 1 }, msg: LOST_LOG }]);
      expect(l.health().pendingWrites).toBe(0);
    });

    it("close says nothing when every unwritten revocation has run out", async () => {
      const kv = client();
      const l = await list(kv, { staleMaxMs: 30_000 });
      kv.down = true;
      const t = clock.now();
      await rejection(l.revokeSession("p1"));
      clock.set(t + RETENTION);
      await l.close();
      expect(logs.at("warn", LOST_LOG)).toEqual([]);
    });
  });
});
