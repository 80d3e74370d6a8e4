/**
 * The persisted usage of one instance, in both storage modes: deltas of a
 * user deleted before the flush are dropped while the rest of the batch is
 * written, a zero delta records nothing, and a flush asked for while one is
 * writing waits for it and then writes what arrived meanwhile.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageStore } from "../../src/quotas/index.js";
import { windowOf } from "../../src/quotas/periods.js";
import { registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";

describe.each(testModes())("usage store (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode);
  });
  afterAll(() => t?.close());

  const day = () => windowOf("day", t.runtime.clock.now());
  const store = () => new UsageStore(t.runtime.db.kysely, t.runtime.log, () => t.runtime.clock.now());
  const rows = async (meter: string) =>
    (await t.runtime.db.kysely.selectFrom("rampart_usage").select(["user_id", "used"]).where("meter", "=", meter).orderBy("user_id").execute()).map((r) => ({ userId: r.user_id, used: Number(r.used) }));

  it("writes the batch without the rows of a user deleted before the flush, and logs no failure", async () => {
    const meter = `m.${randomUUID().slice(0, 8)}`;
    const alice = await registerAndLogin(t.app);
    const bob = await registerAndLogin(t.app);
    const usage = store();
    usage.add(alice.userId, meter, day(), 3);
    usage.add(bob.userId, meter, day(), 2);
    usage.add(randomUUID(), meter, day(), 7);
    usage.add(alice.userId, meter, day(), 1);
    const logged = t.logs.lines.length;
    await usage.flush();
    expect(await rows(meter)).toEqual([{ userId: alice.userId, used: 4 }, { userId: bob.userId, used: 2 }].sort((a, b) => a.userId.localeCompare(b.userId)));
    expect(t.logs.records().slice(logged).filter((r) => r.msg === "quota usage flush failed; retrying at the next flush")).toEqual([]);
    // Nothing is kept for a retry: a second flush writes nothing more.
    await usage.flush();
    expect(await usage.read(alice.userId, meter, day())).toBe(4);
  });

  it("records nothing for a zero delta", async () => {
    const meter = `m.${randomUUID().slice(0, 8)}`;
    const alice = await registerAndLogin(t.app);
    const usage = store();
    usage.add(alice.userId, meter, day(), 0);
    await usage.flush();
    expect(await rows(meter)).toEqual([]);
    expect(await usage.read(alice.userId, meter, day())).toBe(0);
  });

  it("a flush asked for during another waits for it, then writes what arrived meanwhile", async () => {
    const meter = `m.${randomUUID().slice(0, 8)}`;
    const alice = await registerAndLogin(t.app);
    const usage = store();
    usage.add(alice.userId, meter, day(), 5);
    const first = usage.flush();
    usage.add(alice.userId, meter, day(), 2);
    const second = usage.flush();
    // A third caller with nothing new shares the wait and writes nothing twice.
    const third = usage.flush();
    await Promise.all([first, second, third]);
    expect(await rows(meter)).toEqual([{ userId: alice.userId, used: 7 }]);
    expect(await usage.read(alice.userId, meter, day())).toBe(7);
  });
});
