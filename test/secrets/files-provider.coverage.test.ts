/**
 * The files provider (Kubernetes / Docker secret mounts) on a directory that
 * is not what it should be: missing, a file, an entry that is a directory, a
 * file over 1 MiB, a name the filesystem refuses. Each is a ProviderError
 * naming the path and the failure's class, never the file's content.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FilesProvider, ProviderError } from "../../src/secrets/index.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rampart-files-cov-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const failure = async (p: Promise<unknown>): Promise<ProviderError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
};

describe("FilesProvider on a broken mount", () => {
  it("a missing directory cannot be read or listed, and the error names it", async () => {
    const missing = join(dir, "not-mounted");
    const p = new FilesProvider(missing);
    for (const call of [p.load("master-key"), p.list()]) {
      const err = await failure(call);
      expect(err.message).toBe(`cannot read directory ${missing}: Error (ENOENT)`);
    }
  });

  it("a path that is a file, not a directory, is refused", async () => {
    const file = join(dir, "plain-file");
    writeFileSync(file, "x");
    const err = await failure(new FilesProvider(file).load("master-key"));
    expect(err.message).toBe(`${file} is not a directory`);
  });

  it("an entry that is a directory, or larger than 1 MiB, is refused without reading it", async () => {
    const mount = join(dir, "mount");
    mkdirSync(join(mount, "nested-dir"), { recursive: true });
    const big = "s".repeat(1024 * 1024 + 1);
    writeFileSync(join(mount, "huge-secret"), big);
    writeFileSync(join(mount, "fine-secret"), "value-ok-1\n");
    const p = new FilesProvider(mount);
    expect((await failure(p.load("nested-dir"))).message).toBe(`${join(mount, "nested-dir")} is not a regular file`);
    const huge = await failure(p.load("huge-secret"));
    expect(huge.message).toBe(`${join(mount, "huge-secret")} is larger than 1048576 bytes`);
    expect(huge.message).not.toContain("sss");
    // The good one next to them still loads, without its trailing newline.
    expect((await p.load("fine-secret"))?.value).toBe("value-ok-1");
    expect(await p.load("absent-secret")).toBeUndefined();
  });

  it("a name the filesystem refuses (too long) is a ProviderError with the errno, not 'not found'", async () => {
    const p = new FilesProvider(dir);
    const err = await failure(p.load("n".repeat(300)));
    expect(err.message).toMatch(/^cannot read .+: Error \(ENAMETOOLONG\)$/);
  });

  it("a directory at the root of the filesystem serves its files (a name is not taken for one outside it)", async () => {
    const p = new FilesProvider("/");
    expect(await p.load("no-such-secret-here")).toBeUndefined();
    await expect(p.load("../etc")).rejects.toThrow(/path separator or a leading dot/);
  });
});
