/**
 * The sweep of the blob directory: temp files and blobs without a row are
 * removed once older than an hour, and nothing else; ids never become paths
 * outside the store; a removal that fails for another reason than "already
 * gone" is reported, and a server whose start-up sweep fails still starts.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobStore, createFiles } from "../../src/files/index.js";
import { registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { createTestEnv, testModes } from "../helpers/modes.js";
import { filePart, png } from "./fixtures.js";
import { blobPaths, filesDir, upload } from "./helpers.js";

const HOUR = 60 * 60 * 1000;

/** Writes a file and sets its modification time `ageMs` in the past. */
function plant(path: string, ageMs: number): string {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, "x");
  age(path, ageMs);
  return path;
}

function age(path: string, ageMs: number): void {
  const at = new Date(Date.now() - ageMs);
  utimesSync(path, at, at);
}

const blobId = () => randomBytes(16).toString("base64url");
const blobAt = (dir: string, id: string) => join(dir, "blobs", id.slice(0, 2), id);

describe.each(testModes())("blob sweep (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode);
  });
  afterAll(() => t?.close());

  it("removes old temp files and old unreferenced blobs, and keeps recent ones, referenced ones and foreign names", async () => {
    const user = await registerAndLogin(t.app);
    const live = (await upload(t.app, user.accessToken, [filePart("a.png", png())])).json().data.file.id as string;
    const dir = filesDir(t.runtime);
    const livePath = blobPaths(t.runtime).find((p) => basename(p) === live)!;
    age(livePath, 2 * HOUR);
    const oldTemp = plant(join(dir, "tmp", "crashed.part"), 2 * HOUR);
    const newTemp = plant(join(dir, "tmp", "writing.part"), 60_000);
    const oldOrphan = plant(blobAt(dir, blobId()), 2 * HOUR);
    const newOrphan = plant(blobAt(dir, blobId()), 60_000);
    const foreign = plant(join(dir, "blobs", "zz", "not a blob id"), 2 * HOUR);

    const files = await createFiles(t.runtime);
    expect((await files.store.temps()).sort()).toEqual([oldTemp, newTemp].sort());
    expect(await files.sweep()).toBe(2);
    expect(await files.store.temps()).toEqual([newTemp]);
    expect([oldTemp, oldOrphan].filter(existsSync)).toEqual([]);
    expect([newTemp, newOrphan, foreign, livePath].filter(existsSync)).toEqual([newTemp, newOrphan, foreign, livePath]);
    const download = await t.app.inject({ method: "GET", url: `/v1/files/${live}`, headers: { authorization: `Bearer ${user.accessToken}` } });
    expect(download.statusCode).toBe(200);
    expect(download.rawPayload.equals(png())).toBe(true);
  });
});

describe("blob store", () => {
  const dirs: string[] = [];
  const store = async () => {
    const dir = mkdtempSync(join(tmpdir(), "rampart-blobs-"));
    dirs.push(dir);
    const s = new BlobStore(dir);
    await s.init();
    return { dir, s };
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("refuses an id that is not one of its own before touching the disk", async () => {
    const { dir, s } = await store();
    const outside = plant(join(dir, "victim"), 0);
    for (const id of ["../../victim", "../victim", "short", `${"a".repeat(16)}/x`]) {
      // A promise that rejects, not a synchronous throw: callers chain .catch() on it.
      const removal = s.remove(id);
      await expect(removal).rejects.toThrow(new TypeError("not a file id"));
      await expect(s.open(id)).rejects.toThrow(new TypeError("not a file id"));
    }
    expect(existsSync(outside)).toBe(true);
  });

  it("does not count a blob that disappears while the sweep runs", async () => {
    const { dir, s } = await store();
    const racing = plant(blobAt(dir, blobId()), 2 * HOUR);
    const removed = await s.sweep(Date.now() - HOUR, async () => {
      rmSync(racing);
      return new Set();
    });
    expect(removed).toBe(0);
  });

  it("reports a removal that fails for another reason than the file being gone", async () => {
    const { dir, s } = await store();
    // unlink(2) of a directory fails with EISDIR.
    mkdirSync(join(dir, "tmp", "stuck.part"));
    age(join(dir, "tmp", "stuck.part"), 2 * HOUR);
    await expect(s.sweep(Date.now() - HOUR, async () => new Set())).rejects.toMatchObject({ code: "EISDIR" });
  });

  it("a server whose start-up sweep fails logs it and serves", async () => {
    const env = await createTestEnv("embedded");
    const dir = env.config.filesDir ?? join(env.config.dataDir, "files");
    mkdirSync(join(dir, "tmp", "stuck.part"), { recursive: true });
    age(join(dir, "tmp", "stuck.part"), 2 * HOUR);
    const t = await createTestApp("embedded", { testEnv: env });
    try {
      const warning = t.logs.records().find((r) => r.msg === "upload sweep failed");
      expect(warning).toMatchObject({ level: "warn", err: { code: "EISDIR" } });
      const user = await registerAndLogin(t.app);
      expect((await upload(t.app, user.accessToken, [filePart("a.png", png())])).statusCode).toBe(201);
    } finally {
      await t.close();
      await env.cleanup();
    }
  });
});
