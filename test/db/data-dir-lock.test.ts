/**
 * The lock file of the embedded data directory: a lock held by a live process
 * is refused naming it; a lock whose process is gone, or whose content is no
 * pid, is taken over; releasing is idempotent and never removes a lock that
 * another process took since (nor fails when the file is gone); a directory that cannot hold the file fails
 * with the file system's error.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DataDirLockedError, lockDataDir } from "../../src/db/data-dir-lock.js";

describe("data directory lock", () => {
  const dir = mkdtempSync(join(tmpdir(), "rampart-dirlock-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const lockPath = () => join(dir, `lock-${n++}`);

  it("refuses a lock held by another live process, naming it", () => {
    const path = lockPath();
    // The parent of this worker is alive for as long as the test runs.
    writeFileSync(path, `${process.ppid}\n`);
    expect(() => lockDataDir(path)).toThrow(new DataDirLockedError(`the embedded database is in use by process ${process.ppid} (${path}); stop it first`));
    expect(readFileSync(path, "utf8")).toBe(`${process.ppid}\n`);
  });

  it("takes over a lock whose process has exited, or that holds no pid", () => {
    const exited = spawnSync(process.execPath, ["-e", ""]).pid!;
    for (const content of [String(exited), "not a pid", ""]) {
      const path = lockPath();
      writeFileSync(path, content);
      const release = lockDataDir(path);
      expect(readFileSync(path, "utf8")).toBe(String(process.pid));
      release();
      expect(existsSync(path)).toBe(false);
    }
  });

  it("releases once, and leaves a lock another process took in the meantime", () => {
    const path = lockPath();
    const release = lockDataDir(path);
    release();
    const again = lockDataDir(path);
    release();
    expect(readFileSync(path, "utf8")).toBe(String(process.pid));
    again();
    expect(existsSync(path)).toBe(false);

    const stolen = lockPath();
    const releaseStolen = lockDataDir(stolen);
    writeFileSync(stolen, String(process.ppid));
    releaseStolen();
    expect(readFileSync(stolen, "utf8")).toBe(String(process.ppid));

    const removed = lockPath();
    const releaseRemoved = lockDataDir(removed);
    rmSync(removed);
    expect(releaseRemoved).not.toThrow();
  });

  it("fails with the file system's error when the directory does not exist", () => {
    expect(() => lockDataDir(join(dir, "missing", "lock"))).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });
});
