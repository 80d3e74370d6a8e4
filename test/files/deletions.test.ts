import { existsSync } from "node:fs";
import { basename } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobStore, createFiles } from "../../src/files/index.js";
import { queueBlobRemovals } from "../../src/files/deletions.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";
import { filePart, png } from "./fixtures.js";
import { blobPaths, filesDir, upload } from "./helpers.js";

/** A blob store whose unlink can be made to fail. */
class FlakyBlobs extends BlobStore {
  failing = true;
  override remove(id: string): Promise<void> {
    return this.failing ? Promise.reject(new Error("EIO: simulated")) : super.remove(id);
  }
}

describe.each(testModes())("pending blob removals (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode);
  });
  afterAll(() => t?.close());

  const pending = async () => (await t.runtime.db.kysely.selectFrom("rampart_blob_deletions").select("blob_id").execute()).map((r) => r.blob_id).sort();
  const pathOf = (id: string) => blobPaths(t.runtime).find((p) => basename(p) === id);

  it("a failed unlink stays pending and is finished by the next pass; a record naming a live file never removes its blob", async () => {
    const user = await registerAndLogin(t.app);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push((await upload(t.app, user.accessToken, [filePart("a.png", png())])).json().data.file.id as string);
    const [deleted, live] = ids as [string, string];
    const store = new FlakyBlobs(filesDir(t.runtime));
    const files = await createFiles(t.runtime, undefined, store);

    await files.remove(user.userId, deleted);
    const stranded = pathOf(deleted)!;
    expect(existsSync(stranded)).toBe(true);
    expect(await pending()).toEqual([deleted]);
    // A record that contradicts a committed row (which no code path writes).
    await queueBlobRemovals(t.runtime.db.kysely, [live], new Date());

    store.failing = false;
    expect(await files.removeBlobs()).toEqual({ removed: 1, failed: 0 });
    expect(existsSync(stranded)).toBe(false);
    expect(await pending()).toEqual([]);
    const download = await t.app.inject({ method: "GET", url: `/v1/files/${live}`, headers: { authorization: `Bearer ${user.accessToken}` } });
    expect(download.statusCode).toBe(200);
    expect(download.rawPayload.equals(png())).toBe(true);
    expect((await call(t.app, { method: "GET", url: `/v1/files/${deleted}`, token: user.accessToken })).statusCode).toBe(404);
  });

  it("passes running at once (instances starting together) each remove what they lock and leave nothing pending", async () => {
    const user = await registerAndLogin(t.app);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await upload(t.app, user.accessToken, [filePart("a.png", png())])).json().data.file.id as string);
    const paths = ids.map((id) => pathOf(id)!);
    const store = new FlakyBlobs(filesDir(t.runtime));
    const files = await createFiles(t.runtime, undefined, store);
    expect(await files.removeAllOf(user.userId)).toBe(3);
    expect(await pending()).toEqual([...ids].sort());

    store.failing = false;
    const results = await Promise.all([files.removeBlobs(), files.removeBlobs(), files.removeBlobs()]);
    expect(results.reduce((n, r) => n + r.removed, 0)).toBe(3);
    expect(results.every((r) => r.failed === 0)).toBe(true);
    for (const p of paths) expect(existsSync(p)).toBe(false);
    expect(await pending()).toEqual([]);
  });
});
