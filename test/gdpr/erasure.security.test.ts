/**
 * Threat: data that outlives its erasure. After `DELETE /v1/me` or an
 * admin's `DELETE /v1/admin/users/:id` (and after `DELETE /v1/files/:id`),
 * the user's encrypted uploads must not wait on disk for a later sweep: a
 * copy of the upload directory, a snapshot or an intruder on the host taken
 * in the meantime would still hold them, and their number, sizes and times
 * are personal data even while the key is shredded. Every blob of the user
 * goes in the same operation; a crash (or a failed unlink) between the
 * database commit and the blob removal is finished before a restarted
 * server serves anything; a blob whose row never committed goes too; and an
 * upload racing the erasure cannot leave a file behind it.
 */
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobStore } from "../../src/files/index.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { makeAdmin } from "../helpers/identity.js";
import { createTestEnv, testModes, type TestEnv } from "../helpers/modes.js";
import { filePart, gif, pdf, png } from "../files/fixtures.js";
import { blobPaths, tempFiles, upload } from "../files/helpers.js";

type User = Awaited<ReturnType<typeof registerAndLogin>>;

/** A blob store whose unlink fails, as if the process died right after the commit. */
class UnremovableBlobs extends BlobStore {
  override remove(): Promise<void> {
    return Promise.reject(Object.assign(new Error("EIO: simulated disk failure"), { code: "EIO" }));
  }
}

/** A blob store that renames the blob into place and then fails, so the row's transaction never commits. */
class FailAfterRename extends UnremovableBlobs {
  override async commit(tempPath: string, id: string): Promise<void> {
    await super.commit(tempPath, id);
    throw new Error("simulated crash after the rename");
  }
}

async function uploadFiles(t: TestApp, user: User, n: number): Promise<string[]> {
  const samples = [filePart("a.png", png()), filePart("b.gif", gif()), filePart("c.pdf", pdf("private"))];
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await upload(t.app, user.accessToken, [samples[i % samples.length]!]);
    expect(res.statusCode, res.body).toBe(201);
    ids.push(res.json().data.file.id as string);
  }
  return ids;
}

/** The upload directory of a test environment (RAMPART_FILES_DIR's default). */
function blobDir(env: TestEnv): string {
  return env.config.filesDir ?? join(env.config.dataDir, "files");
}

/** The blob ids in the store, read from its directory (not through the code under test). */
function storedIds(t: TestApp): Set<string> {
  return new Set(blobPaths(t.runtime).map((p) => basename(p)));
}

async function login(t: TestApp, user: User): Promise<string> {
  const res = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: user.email, password: user.password } });
  expect(res.statusCode, res.body).toBe(200);
  return res.data.accessToken as string;
}

describe.each(testModes())("erasure removes every blob at once (%s)", (mode) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(mode);
  });
  afterAll(() => t?.close());

  it("DELETE /v1/me removes all of the user's blobs in the same request, and no one else's", async () => {
    const victim = await registerAndLogin(t.app);
    const bystander = await registerAndLogin(t.app);
    const ids = await uploadFiles(t, victim, 3);
    const [kept] = await uploadFiles(t, bystander, 1);
    for (const id of ids) expect(storedIds(t).has(id)).toBe(true);

    const res = await call(t.app, { method: "DELETE", url: "/v1/me", token: victim.accessToken, body: { password: victim.password } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.data.receipt.removed.files).toBe(3);

    const left = storedIds(t);
    for (const id of ids) expect(left.has(id), `blob ${id} of the erased user`).toBe(false);
    expect(left.has(kept!)).toBe(true);
    expect(tempFiles(t.runtime)).toEqual([]);
    const download = await t.app.inject({ method: "GET", url: `/v1/files/${kept}`, headers: { authorization: `Bearer ${bystander.accessToken}` } });
    expect(download.statusCode).toBe(200);
  });

  it("DELETE /v1/admin/users/:id removes all of the user's blobs in the same request", async () => {
    const admin = await registerAndLogin(t.app);
    await makeAdmin(t.app, t.runtime, admin.userId);
    const adminToken = await login(t, admin);
    const victim = await registerAndLogin(t.app);
    const ids = await uploadFiles(t, victim, 2);

    const res = await call(t.app, { method: "DELETE", url: `/v1/admin/users/${victim.userId}`, token: adminToken, body: { reason: "erasure request by mail" } });
    expect(res.statusCode, res.body).toBe(200);
    const left = storedIds(t);
    for (const id of ids) expect(left.has(id), `blob ${id} of the erased user`).toBe(false);
  });

  it("DELETE /v1/files/:id removes the blob in the same request", async () => {
    const user = await registerAndLogin(t.app);
    const [gone, kept] = await uploadFiles(t, user, 2);
    const res = await call(t.app, { method: "DELETE", url: `/v1/files/${gone}`, token: user.accessToken });
    expect(res.statusCode, res.body).toBe(200);
    expect(storedIds(t).has(gone!)).toBe(false);
    expect(storedIds(t).has(kept!)).toBe(true);
  });
});

describe.each(testModes())("a crash between the commit and the blob removal (%s)", (mode) => {
  it("is finished when the next server starts, before it serves a request", async () => {
    const env = await createTestEnv(mode);
    let running: TestApp | undefined;
    try {
      const first = (running = await createTestApp(mode, { testEnv: env, blobStore: new UnremovableBlobs(blobDir(env)) }));
      const victim = await registerAndLogin(first.app);
      const other = await registerAndLogin(first.app);
      const erasedIds = await uploadFiles(first, victim, 2);
      const [deleted, kept] = await uploadFiles(first, other, 2);

      // Both commit (the rows are gone) though the blobs could not be removed.
      expect((await call(first.app, { method: "DELETE", url: "/v1/me", token: victim.accessToken, body: { password: victim.password } })).statusCode).toBe(200);
      expect((await call(first.app, { method: "DELETE", url: `/v1/files/${deleted}`, token: other.accessToken })).statusCode).toBe(200);
      const stranded = [...erasedIds, deleted!];
      for (const id of stranded) expect(storedIds(first).has(id), `blob ${id} left by the failure`).toBe(true);
      const paths = blobPaths(first.runtime).filter((p) => stranded.includes(basename(p)));
      running = undefined;
      await first.close();

      const second = (running = await createTestApp(mode, { testEnv: env }));
      // Checked before any request reaches the new server.
      for (const p of paths) expect(existsSync(p), `${p} after restart`).toBe(false);
      expect(storedIds(second).has(kept!)).toBe(true);
      const token = await login(second, other);
      const download = await second.app.inject({ method: "GET", url: `/v1/files/${kept}`, headers: { authorization: `Bearer ${token}` } });
      expect(download.statusCode).toBe(200);
      expect(download.rawPayload.equals(gif())).toBe(true);
    } finally {
      await running?.close();
      await env.cleanup();
    }
  });

  it("removes a blob whose row never committed (an upload cut short after the rename)", async () => {
    const env = await createTestEnv(mode);
    let running: TestApp | undefined;
    try {
      const first = (running = await createTestApp(mode, { testEnv: env, blobStore: new FailAfterRename(blobDir(env)) }));
      const user = await registerAndLogin(first.app);
      const res = await upload(first.app, user.accessToken, [filePart("a.png", png())]);
      expect(res.statusCode).toBe(500);
      const orphans = blobPaths(first.runtime);
      expect(orphans).toHaveLength(1);
      running = undefined;
      await first.close();

      const second = (running = await createTestApp(mode, { testEnv: env }));
      expect(existsSync(orphans[0]!)).toBe(false);
      expect(blobPaths(second.runtime)).toEqual([]);
    } finally {
      await running?.close();
      await env.cleanup();
    }
  });
});

/** A blob store that holds an upload at one step until released: `write` (staging) or `commit` (inside the row's transaction). */
class HeldUpload extends BlobStore {
  readonly entered: Promise<void>;
  private enter!: () => void;
  release!: () => void;
  private readonly gate: Promise<void>;
  constructor(
    dir: string,
    private readonly at: "write" | "commit",
  ) {
    super(dir);
    this.entered = new Promise((r) => (this.enter = r));
    this.gate = new Promise((r) => (this.release = r));
  }
  private async hold(step: "write" | "commit"): Promise<void> {
    if (step !== this.at) return;
    this.enter();
    await this.gate;
  }
  override async write(tempPath: string, source: AsyncIterable<Uint8Array>): Promise<void> {
    await this.hold("write");
    await super.write(tempPath, source);
  }
  override async commit(tempPath: string, id: string): Promise<void> {
    await this.hold("commit");
    await super.commit(tempPath, id);
  }
}

describe.each(testModes())("an upload racing an erasure (%s)", (mode) => {
  it("a file committed while its owner is being erased is erased with the rest, blob included", async () => {
    const env = await createTestEnv(mode);
    const store = new HeldUpload(blobDir(env), "commit");
    const t = await createTestApp(mode, { testEnv: env, blobStore: store });
    try {
      const victim = await registerAndLogin(t.app);
      const uploading = upload(t.app, victim.accessToken, [filePart("late.png", png())]);
      await store.entered;
      // The erasure starts while the upload's transaction is open (its row inserted, not committed).
      const erasing = call(t.app, { method: "DELETE", url: "/v1/me", token: victim.accessToken, body: { password: victim.password } });
      await new Promise((r) => setTimeout(r, 300));
      store.release();
      const [up, erased] = await Promise.all([uploading, erasing]);
      expect(up.statusCode, up.body).toBe(201);
      expect(erased.statusCode, erased.body).toBe(200);
      expect(erased.data.receipt.removed.files).toBe(1);
      expect(storedIds(t).has(up.json().data.file.id as string)).toBe(false);
      expect(await t.runtime.db.kysely.selectFrom("rampart_files").select("id").where("user_id", "=", victim.userId).execute()).toEqual([]);
    } finally {
      await t.close();
      await env.cleanup();
    }
  });

  it("an upload that was still being read when its owner was erased is refused and leaves no blob", async () => {
    const env = await createTestEnv(mode);
    const store = new HeldUpload(blobDir(env), "write");
    const t = await createTestApp(mode, { testEnv: env, blobStore: store });
    try {
      const victim = await registerAndLogin(t.app);
      const uploading = upload(t.app, victim.accessToken, [filePart("late.png", png())]);
      await store.entered;
      const erased = await call(t.app, { method: "DELETE", url: "/v1/me", token: victim.accessToken, body: { password: victim.password } });
      expect(erased.statusCode, erased.body).toBe(200);
      store.release();
      const up = await uploading;
      expect(up.statusCode, up.body).toBe(401);
      expect(blobPaths(t.runtime)).toEqual([]);
      expect(tempFiles(t.runtime)).toEqual([]);
      expect(await t.runtime.db.kysely.selectFrom("rampart_files").select("id").where("user_id", "=", victim.userId).execute()).toEqual([]);
    } finally {
      await t.close();
      await env.cleanup();
    }
  });
});
