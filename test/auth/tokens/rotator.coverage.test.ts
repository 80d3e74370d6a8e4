/**
 * `rampart keys rotate-signing` (rotateSigningKey) on a store with no signing
 * key yet: the first key signs at once, an emergency rotation with nothing to
 * remove removes nothing; and a rotation while another instance holds the
 * rotation lease gives up with an error saying so, changing nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireLease, releaseLease } from "../../../src/db/leases.js";
import { listSigningKeys, settingsFromConfig } from "../../../src/auth/tokens/index.js";
import { rotateSigningKey, type RotatorDeps } from "../../../src/auth/tokens/rotator.js";
import { ManualClock } from "../../../src/runtime/clock.js";
import { createTestEnv, type TestEnv } from "../../helpers/modes.js";
import { createTestRuntime, type TestRuntime } from "../../helpers/runtime.js";
import { testSealer, TOKEN_ENV } from "./helpers.js";

describe("rotateSigningKey on an empty key store", () => {
  let env: TestEnv;
  let rt: TestRuntime;
  let deps: RotatorDeps;
  const clock = new ManualClock(Date.UTC(2026, 2, 1));
  beforeAll(async () => {
    env = await createTestEnv("embedded", TOKEN_ENV);
    rt = await createTestRuntime(env);
    const { runtime } = rt;
    deps = { db: runtime.db.kysely, kv: runtime.kv, clock, log: runtime.log, sealer: testSealer(), settings: settingsFromConfig(runtime.config), holder: "rotator-cov" };
  });
  afterAll(async () => {
    await rt?.runtime.close();
    await env?.cleanup();
  });

  it("an emergency rotation with no key creates one that signs now and removes nothing", async () => {
    expect(await listSigningKeys(deps.db)).toEqual([]);
    const r = await rotateSigningKey(deps, { emergency: true });
    expect(r).toEqual({ kid: r.kid, activatesAt: clock.now(), created: true });
    expect(r.removedKid).toBeUndefined();
    const keys = await listSigningKeys(deps.db);
    expect(keys.map((k) => [k.kid, k.state])).toEqual([[r.kid, "active"]]);
  });

  it("a normal rotation with no active key makes the new key active at once", async () => {
    const first = (await listSigningKeys(deps.db))[0]!;
    await deps.db.deleteFrom("rampart_signing_keys").execute();
    const r = await rotateSigningKey(deps);
    expect(r.created).toBe(true);
    expect(r.activatesAt).toBe(clock.now());
    expect(r.kid).not.toBe(first.kid);
    const keys = await listSigningKeys(deps.db);
    expect(keys.map((k) => [k.kid, k.state])).toEqual([[r.kid, "active"]]);
    // With an active key, the next one waits for the publish delay.
    const next = await rotateSigningKey(deps);
    expect(next.activatesAt).toBe(clock.now() + deps.settings.publishDelayMs);
  });

  it("gives up when another instance holds the rotation lease, creating nothing", async () => {
    const before = await listSigningKeys(deps.db);
    expect(await acquireLease(deps.db, "auth:signing-key-rotation", "another-instance", 60_000, clock.now())).toBe(true);
    try {
      await expect(rotateSigningKey(deps, { emergency: true })).rejects.toThrow("another instance holds the signing-key rotation lease; try again");
    } finally {
      await releaseLease(deps.db, "auth:signing-key-rotation", "another-instance");
    }
    expect(await listSigningKeys(deps.db)).toEqual(before);
  }, 30_000);
});
