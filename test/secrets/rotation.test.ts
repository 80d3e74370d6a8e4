/**
 * Change detection: a reload that finds a different value fires the name's
 * onRotate callbacks once with the new value and logs `secret.rotated` with
 * name, provider and version. Driven through the real `files:` provider, with
 * files replaced the way Docker and Kubernetes (atomic `..data` symlink swap) do.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { events, FakeProvider, harness, type Harness } from "./helpers.js";

const SECOND = 1000;
let dir: string;
let h: Harness;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "rampart-secrets-rot-"));
});

afterEach(async () => {
  await h.secrets.close();
  rmSync(dir, { recursive: true, force: true });
});

function filesHarness(): Harness {
  return harness({ configEnv: { RAMPART_SECRETS: `files:${dir}` } });
}

describe("onRotate", () => {
  it("fires once with the new value when the file changes", async () => {
    writeFileSync(join(dir, "webhook-secret"), "whsec-original\n");
    h = filesHarness();
    expect(await h.secrets.get("webhook-secret")).toBe("whsec-original");
    const cb = vi.fn();
    h.secrets.onRotate("webhook-secret", cb);

    writeFileSync(join(dir, "webhook-secret"), "whsec-rotated\n");
    h.clock.advance(250 * SECOND);
    await h.secrets.refreshDue();
    expect(cb).toHaveBeenCalledTimes(1);
    expect(cb).toHaveBeenCalledWith("whsec-rotated");
    expect(await h.secrets.get("webhook-secret")).toBe("whsec-rotated");

    // Reloads that find the same value are not rotations.
    h.clock.advance(250 * SECOND);
    await h.secrets.refreshDue();
    expect(cb).toHaveBeenCalledTimes(1);
    expect(h.secrets.stats().rotations).toBe(1);

    const [rotated] = events(h.logs, "secret.rotated");
    expect(rotated).toMatchObject({ level: "info", secretName: "webhook-secret", provider: `files:${dir}`, version: null });
  });

  it("follows a Kubernetes-style atomic ..data symlink swap", async () => {
    mkdirSync(join(dir, "..2026_01_01_v1"));
    writeFileSync(join(dir, "..2026_01_01_v1", "jwt-signing"), "signing-key-v1");
    symlinkSync("..2026_01_01_v1", join(dir, "..data"));
    symlinkSync(join("..data", "jwt-signing"), join(dir, "jwt-signing"));
    h = filesHarness();
    const cb = vi.fn();
    expect(await h.secrets.get("jwt-signing")).toBe("signing-key-v1");
    h.secrets.onRotate("jwt-signing", cb);

    mkdirSync(join(dir, "..2026_01_02_v2"));
    writeFileSync(join(dir, "..2026_01_02_v2", "jwt-signing"), "signing-key-v2");
    symlinkSync("..2026_01_02_v2", join(dir, "..data_tmp"));
    renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
    h.clock.advance(300 * SECOND);
    expect(await h.secrets.get("jwt-signing")).toBe("signing-key-v2");
    expect(cb).toHaveBeenCalledExactlyOnceWith("signing-key-v2");
  });

  it("loads a baseline when subscribing before any get, so the first change is seen", async () => {
    writeFileSync(join(dir, "api-key"), "api-key-one");
    h = filesHarness();
    const cb = vi.fn();
    h.secrets.onRotate("api-key", cb);
    await vi.waitFor(() => expect(events(h.logs, "secret.loaded")).toHaveLength(1));
    writeFileSync(join(dir, "api-key"), "api-key-two");
    await h.secrets.refresh("api-key");
    expect(cb).toHaveBeenCalledExactlyOnceWith("api-key-two");
  });

  it("stops calling a callback once unsubscribed, and one failing callback does not stop the others", async () => {
    const p = new FakeProvider().set("api-key", "api-key-one");
    h = harness({ providers: [p] });
    await h.secrets.get("api-key");
    const failing = vi.fn(() => {
      throw new Error("consumer broke");
    });
    const rejecting = vi.fn(async () => {
      throw new Error("async consumer broke");
    });
    const good = vi.fn();
    const removed = vi.fn();
    h.secrets.onRotate("api-key", failing);
    h.secrets.onRotate("api-key", rejecting);
    h.secrets.onRotate("api-key", good);
    const off = h.secrets.onRotate("api-key", removed);
    off();
    p.set("api-key", "api-key-two");
    await h.secrets.refresh("api-key");
    expect(good).toHaveBeenCalledExactlyOnceWith("api-key-two");
    expect(removed).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(events(h.logs, "secret.rotate_callback_failed")).toHaveLength(2));
  });

  it("logs secret.removed when a value disappears, and get then fails", async () => {
    writeFileSync(join(dir, "api-key"), "api-key-one");
    h = filesHarness();
    await h.secrets.get("api-key");
    rmSync(join(dir, "api-key"));
    await h.secrets.refresh("api-key");
    expect(events(h.logs, "secret.removed")).toHaveLength(1);
    await expect(h.secrets.get("api-key")).rejects.toThrow(/not found/);
  });
});
