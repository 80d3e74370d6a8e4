/**
 * Uploads through the composed server in both storage modes: each allowed
 * type round-trips, the stored blob is ciphertext, listing pages with a
 * cursor, downloads carry the protective headers, deletion removes blob and
 * row, other users get 404, a new app instance still decrypts, and a real
 * HTTP client (fetch + FormData) can upload.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";
import { filePart, gif, jpeg, pdf, png, webp } from "./fixtures.js";
import { blobPaths, fileRows, readBlob, tempFiles, upload } from "./helpers.js";

describe.each(testModes())("uploads (%s)", (mode) => {
  let t: TestApp;
  let alice: Awaited<ReturnType<typeof registerAndLogin>>;
  let bob: Awaited<ReturnType<typeof registerAndLogin>>;
  beforeAll(async () => {
    t = await createTestApp(mode);
    alice = await registerAndLogin(t.app);
    bob = await registerAndLogin(t.app);
  });
  afterAll(() => t?.close());

  it.each<[string, Buffer, string]>([
    ["photo.png", png(), "image/png"],
    ["photo.JPG", jpeg(), "image/jpeg"],
    ["photo.jpeg", jpeg(), "image/jpeg"],
    ["anim.gif", gif(), "image/gif"],
    ["pic.webp", webp(), "image/webp"],
    ["report.pdf", pdf(), "application/pdf"],
  ])("stores %s and gives the same bytes back", async (name, bytes, type) => {
    const res = await upload(t.app, alice.accessToken, [filePart(name, bytes)]);
    expect(res.statusCode, res.body).toBe(201);
    const file = res.json().data.file;
    expect(file).toMatchObject({ name, contentType: type, size: bytes.length });
    const got = await t.app.inject({ method: "GET", url: `/v1/files/${file.id}`, headers: { authorization: `Bearer ${alice.accessToken}` } });
    expect(got.statusCode).toBe(200);
    expect(got.rawPayload.equals(bytes)).toBe(true);
    expect(got.headers["content-type"]).toBe(type);
    expect(tempFiles(t.runtime)).toEqual([]);
  });

  it("downloads as an attachment with nosniff, a sandbox CSP and an RFC 6266 filename*", async () => {
    const res = await upload(t.app, alice.accessToken, [filePart("Résumé (final).pdf", pdf())]);
    expect(res.statusCode).toBe(201);
    const got = await t.app.inject({ method: "GET", url: `/v1/files/${res.json().data.file.id}`, headers: { authorization: `Bearer ${alice.accessToken}` } });
    expect(got.headers["content-disposition"]).toBe(`attachment; filename="R_sum_ (final).pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%28final%29.pdf`);
    expect(got.headers["x-content-type-options"]).toBe("nosniff");
    expect(String(got.headers["content-security-policy"])).toMatch(/(^|;\s*)sandbox(;|$)/);
    expect(got.headers["content-length"]).toBe(String(pdf().length));
    expect(got.headers["cache-control"]).toBe("private, no-store");
  });

  it("keeps only ciphertext on disk: no blob contains the plaintext", async () => {
    const marker = "PLAINTEXT-MARKER-7f3a9c";
    const res = await upload(t.app, alice.accessToken, [filePart("secret.pdf", pdf(marker, { padLines: 50 }))]);
    expect(res.statusCode).toBe(201);
    const blobs = blobPaths(t.runtime);
    expect(blobs.length).toBeGreaterThan(0);
    for (const p of blobs) {
      const b = readBlob(p);
      expect(b.includes(Buffer.from(marker))).toBe(false);
      expect(b.includes(Buffer.from("%PDF-1.4"))).toBe(false);
    }
    // Nor does the database hold the file name in clear.
    const row = await t.runtime.db.kysely.selectFrom("rampart_files").select("name_enc").where("id", "=", res.json().data.file.id).executeTakeFirstOrThrow();
    expect(row.name_enc).not.toContain("secret");
  });

  it("another user's file is not found (read and delete), and is not listed", async () => {
    const res = await upload(t.app, alice.accessToken, [filePart("mine.png", png())]);
    const id = res.json().data.file.id as string;
    const read = await call(t.app, { method: "GET", url: `/v1/files/${id}`, token: bob.accessToken });
    expect(read.statusCode).toBe(404);
    expect(read.code).toBe("NOT_FOUND");
    expect((await call(t.app, { method: "DELETE", url: `/v1/files/${id}`, token: bob.accessToken })).statusCode).toBe(404);
    const list = await call(t.app, { method: "GET", url: "/v1/files", token: bob.accessToken });
    expect(list.data.files.map((f: { id: string }) => f.id)).not.toContain(id);
    expect((await t.app.inject({ method: "GET", url: `/v1/files/${id}`, headers: { authorization: `Bearer ${alice.accessToken}` } })).statusCode).toBe(200);
  });

  it("lists the caller's files newest first, page by page with a cursor", async () => {
    const carol = await registerAndLogin(t.app);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await upload(t.app, carol.accessToken, [filePart(`p${i}.png`, png())])).json().data.file.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: Awaited<ReturnType<typeof call>> = await call(t.app, { method: "GET", url: `/v1/files?limit=2${cursor ? `&cursor=${cursor}` : ""}`, token: carol.accessToken });
      expect(res.statusCode).toBe(200);
      expect(res.data.files.length).toBeLessThanOrEqual(2);
      seen.push(...res.data.files.map((f: { id: string }) => f.id));
      cursor = res.data.nextCursor;
    } while (cursor);
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(seen).toHaveLength(5);
    expect((await call(t.app, { method: "GET", url: "/v1/files?cursor=bogus", token: carol.accessToken })).code).toBe("VALIDATION_FAILED");
  });

  it("deletion removes the blob and the row; a second delete is 404", async () => {
    const dave = await registerAndLogin(t.app);
    const before = blobPaths(t.runtime).length;
    const res = await upload(t.app, dave.accessToken, [filePart("gone.gif", gif())]);
    const id = res.json().data.file.id as string;
    expect(blobPaths(t.runtime)).toHaveLength(before + 1);
    const del = await call(t.app, { method: "DELETE", url: `/v1/files/${id}`, token: dave.accessToken });
    expect(del.statusCode).toBe(200);
    expect(del.data).toEqual({ deleted: true });
    expect(blobPaths(t.runtime)).toHaveLength(before);
    expect(await fileRows(t.runtime, dave.userId)).toBe(0);
    expect((await call(t.app, { method: "GET", url: `/v1/files/${id}`, token: dave.accessToken })).statusCode).toBe(404);
    expect((await call(t.app, { method: "DELETE", url: `/v1/files/${id}`, token: dave.accessToken })).statusCode).toBe(404);
  });

  it("requires authentication and the files permissions", async () => {
    const anon = await t.app.inject({ method: "GET", url: "/v1/files" });
    expect(anon.statusCode).toBe(401);
    const key = await call(t.app, { method: "POST", url: "/v1/api-keys", token: alice.accessToken, body: { name: "read-only", scopes: ["files:read"] } });
    expect(key.statusCode).toBe(201);
    const denied = await upload(t.app, key.data.key, [filePart("x.png", png())]);
    expect(denied.statusCode).toBe(403);
    expect((await call(t.app, { method: "GET", url: "/v1/files", token: key.data.key })).statusCode).toBe(200);
  });

  it("uploads over real HTTP with fetch and FormData", async () => {
    const address = await t.app.listen({ host: "127.0.0.1", port: 0 });
    const form = new FormData();
    const bytes = png({ pad: 200_000 });
    form.append("file", new Blob([bytes], { type: "image/png" }), "big.png");
    const res = await fetch(`${address}/v1/files`, { method: "POST", body: form, headers: { authorization: `Bearer ${alice.accessToken}` } });
    expect(res.status).toBe(201);
    const { data } = (await res.json()) as { data: { file: { id: string; size: number } } };
    expect(data.file.size).toBe(bytes.length);
    const got = await fetch(`${address}/v1/files/${data.file.id}`, { headers: { authorization: `Bearer ${alice.accessToken}` } });
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
  });
});

describe.each(testModes())("uploads across a restart (%s)", (mode) => {
  it("a new app instance on the same stores decrypts what the old one stored", async () => {
    const first = await createTestApp(mode);
    let second: TestApp | undefined;
    try {
      const user = await registerAndLogin(first.app);
      const bytes = pdf("survives a restart");
      const res = await upload(first.app, user.accessToken, [filePart("keep.pdf", bytes)]);
      expect(res.statusCode).toBe(201);
      await first.app.close();
      await first.runtime.close();
      second = await createTestApp(mode, { testEnv: first.env });
      const got = await second.app.inject({ method: "GET", url: `/v1/files/${res.json().data.file.id}`, headers: { authorization: `Bearer ${user.accessToken}` } });
      expect(got.statusCode).toBe(200);
      expect(got.rawPayload.equals(bytes)).toBe(true);
      const list = await call(second.app, { method: "GET", url: "/v1/files", token: user.accessToken });
      expect(list.data.files[0].name).toBe("keep.pdf");
    } finally {
      await second?.close();
      await first.env.cleanup();
    }
  }, 120_000);
});
