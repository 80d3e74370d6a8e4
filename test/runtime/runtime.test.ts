/**
 * A runtime survives the failures of the code a host hangs on it: a security
 * event listener that throws is logged while the other listeners and the
 * emit go on, and a close hook that throws is logged while the other hooks
 * and the runtime's own parts still close.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SecurityEvent } from "../../src/events/index.js";
import type { Runtime } from "../../src/runtime/index.js";
import type { LogCapture } from "../helpers/logs.js";
import { createTestEnv, testModes, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";

describe.each(testModes())("runtime and the host's hooks (%s)", (mode) => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv(mode);
  });
  afterAll(() => env?.cleanup());

  it("logs a security event listener that throws, and still tells the others", async () => {
    const { runtime, logs } = await createTestRuntime(env);
    try {
      const seen: SecurityEvent[] = [];
      runtime.events.on(() => {
        throw new Error("listener bug");
      });
      runtime.events.on((e) => void seen.push(e));
      await runtime.events.emit("auth.locked", { actor: { type: "system" }, target: "user:u1" });
      expect(seen.map((e) => [e.name, e.target])).toEqual([["auth.locked", "user:u1"]]);
      expect(logs.records().find((r) => r.msg === "security event listener failed")).toMatchObject({ level: "error", event: "auth.locked", err: { message: "listener bug" } });
    } finally {
      await runtime.close();
    }
  });

  it("logs a close hook that throws and still runs the others, then closes its own parts", async () => {
    const { runtime, logs }: { runtime: Runtime; logs: LogCapture } = await createTestRuntime(env);
    const ran: string[] = [];
    runtime.onClose(() => void ran.push("first registered"));
    runtime.onClose(() => {
      throw new Error("close hook bug");
    });
    runtime.onClose(async () => void ran.push("last registered"));
    await runtime.close();
    // Hooks run last-registered first; the failing one does not stop the rest.
    expect(ran).toEqual(["last registered", "first registered"]);
    expect(logs.records().filter((r) => r.msg === "error while closing")).toMatchObject([{ level: "error", err: { message: "close hook bug" } }]);
    // The database was closed too: the store refuses work.
    await expect(runtime.db.kysely.selectFrom("rampart_users").select("id").execute()).rejects.toThrow();
  });
});
