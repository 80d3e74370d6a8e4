/**
 * Threat: hostile uploads. An attacker uploads a file that a victim's
 * browser (or another program) would run when it is downloaded from our
 * origin: HTML or SVG with script, a polyglot that sniffs as an image or PDF
 * but carries markup or an appended archive (GIFAR), or a file whose name
 * disguises its type. Or they try to exhaust the server: an oversize body, a
 * body with several files, an empty file; or to write outside the upload
 * directory through the filename. Every refusal must leave nothing behind:
 * no temp file, no blob, no row. And a blob altered at rest must never be
 * served as if it were intact.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { call, registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";
import { filePart, gif, jpeg, multipart, pdf, png, zip } from "./fixtures.js";
import { blobPaths, fileRows, tempFiles, upload } from "./helpers.js";

const MAX = 100_000;

describe.each(testModes())("hostile uploads (%s)", (mode) => {
  let t: TestApp;
  let user: Awaited<ReturnType<typeof registerAndLogin>>;
  let blobsBefore = 0;
  let address: string | undefined;
  const listen = async () => (address ??= await t.app.listen({ host: "127.0.0.1", port: 0 }));
  beforeAll(async () => {
    t = await createTestApp(mode, { env: { UPLOAD_MAX_BYTES: String(MAX) } });
    user = await registerAndLogin(t.app);
  });
  afterAll(() => t?.close());
  beforeEach(() => {
    blobsBefore = blobPaths(t.runtime).length;
  });

  async function expectRefused(res: { statusCode: number; json: () => any }, status: number, code: string) {
    expect(res.statusCode, JSON.stringify(res.json())).toBe(status);
    expect(res.json().code).toBe(code);
    expect(tempFiles(t.runtime)).toEqual([]);
    expect(blobPaths(t.runtime)).toHaveLength(blobsBefore);
    expect(await fileRows(t.runtime, user.userId)).toBe(0);
  }

  it("refuses an upload over UPLOAD_MAX_BYTES with 413 and keeps no temp file; exactly the limit passes", async () => {
    const big = png({ pad: MAX });
    await expectRefused(await upload(t.app, user.accessToken, [filePart("big.png", big)]), 413, "PAYLOAD_TOO_LARGE");
    const base = png().length + 12;
    const exact = png({ pad: MAX - base });
    expect(exact.length).toBe(MAX);
    const ok = await upload(t.app, user.accessToken, [filePart("exact.png", exact)]);
    expect(ok.statusCode).toBe(201);
    await call(t.app, { method: "DELETE", url: `/v1/files/${ok.json().data.file.id}`, token: user.accessToken });
  });

  it("answers 413 on a real socket while the body is still streaming, and closes the connection", async () => {
    const base = await listen();
    const { payload, headers } = multipart([filePart("huge.png", png({ pad: 4 * 1024 * 1024 }))]);
    const res = await new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
      let answered = false;
      const req = httpRequest(`${base}/v1/files`, { method: "POST", headers: { ...headers, "content-length": String(payload.length), authorization: `Bearer ${user.accessToken}` } }, (r) => {
        answered = true;
        let body = "";
        r.on("data", (c: Buffer) => (body += c.toString()));
        r.on("end", () => resolve({ status: r.statusCode ?? 0, body, connection: r.headers.connection }));
      });
      // The server may close while we are still writing (that is the point): only an error before the answer fails.
      req.on("error", (err) => {
        if (!answered) reject(err);
      });
      req.end(payload);
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).code).toBe("PAYLOAD_TOO_LARGE");
    expect(res.connection).toBe("close");
    expect(tempFiles(t.runtime)).toEqual([]);
    expect(blobPaths(t.runtime)).toHaveLength(blobsBefore);
  });

  it("refuses a name whose extension disagrees with the content (415)", async () => {
    for (const [name, bytes] of [["photo.pdf", png()], ["doc.png", pdf()], ["photo.png.exe", png()], ["photo", png()], ["anim.jpg", gif()]] as const) {
      const res = await upload(t.app, user.accessToken, [filePart(name, bytes)]);
      await expectRefused(res, 415, "UNSUPPORTED_FILE_TYPE");
    }
  });

  it("refuses SVG and HTML, whatever they are called (415)", async () => {
    const svg = `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>`;
    const html = `<!doctype html><html><body><script>fetch('/v1/me')</script></body></html>`;
    const cases: [string, string][] = [["x.svg", svg], ["x.png", svg], ["x.html", html], ["x.pdf", html], ["x.gif", "  <html>hi"]];
    for (const [name, body] of cases) {
      await expectRefused(await upload(t.app, user.accessToken, [filePart(name, body, "image/png")]), 415, "UNSUPPORTED_FILE_TYPE");
    }
  });

  it("refuses polyglots: markup after the magic bytes, script deep inside, an appended archive (GIFAR)", async () => {
    const cases: [string, Buffer, string][] = [
      ["pdf-html.pdf", pdf("x", { after: "<html><body><script>alert(1)</script>" }), "markup-at-start"],
      ["png-svg.png", png({ text: "<svg onload=alert(1)>" }), "markup-at-start"],
      ["png-script.png", png({ pad: 20_000, text: "<SCRIPT src=//evil.example/x.js></SCRIPT>" }), "active-markup"],
      ["plain.pdf", pdf("x", { padLines: 40 }), "none"],
      ["gifar.gif", Buffer.concat([gif(), zip()]), "appended-archive"],
      ["jpeg-zip.jpg", Buffer.concat([jpeg(), zip("META-INF/MANIFEST.MF")]), "appended-archive"],
    ];
    for (const [name, bytes, reason] of cases) {
      const res = await upload(t.app, user.accessToken, [filePart(name, bytes)]);
      if (reason === "none") {
        // Control: a plain PDF of the same shape passes.
        expect(res.statusCode).toBe(201);
        await call(t.app, { method: "DELETE", url: `/v1/files/${res.json().data.file.id}`, token: user.accessToken });
        continue;
      }
      await expectRefused(res, 415, "UNSUPPORTED_FILE_TYPE");
      expect(res.json().details.reason).toBe(reason);
    }
    const jsUri = pdf("x", { after: `%${" ".repeat(2000)}`, padLines: 2 });
    const withUri = Buffer.concat([jsUri.subarray(0, jsUri.length - 6), Buffer.from("<< /S /URI /URI (javascript:alert(1)) >>\n%%EOF\n")]);
    await expectRefused(await upload(t.app, user.accessToken, [filePart("uri.pdf", withUri)]), 415, "UNSUPPORTED_FILE_TYPE");
  });

  it("refuses an empty file (400), two files (400), extra fields (400), no file (400) and a JSON body (415)", async () => {
    await expectRefused(await upload(t.app, user.accessToken, [filePart("empty.png", Buffer.alloc(0))]), 400, "VALIDATION_FAILED");
    await expectRefused(await upload(t.app, user.accessToken, [filePart("a.png", png()), filePart("b.png", png())]), 400, "VALIDATION_FAILED");
    await expectRefused(await upload(t.app, user.accessToken, [filePart("a.png", png()), { name: "note", data: "hello" }]), 400, "VALIDATION_FAILED");
    await expectRefused(await upload(t.app, user.accessToken, [{ name: "note", data: "hello" }, filePart("a.png", png())]), 400, "VALIDATION_FAILED");
    await expectRefused(await upload(t.app, user.accessToken, [{ name: "file", data: "not a file part" }]), 400, "VALIDATION_FAILED");
    const json = await t.app.inject({ method: "POST", url: "/v1/files", payload: { file: "aGVsbG8=" }, headers: { authorization: `Bearer ${user.accessToken}` } });
    await expectRefused(json, 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("never uses the client filename as a path: traversal, separators and bidi tricks are stripped from the display name", async () => {
    const cases: [string, string][] = [
      ["../../../../etc/cron.d/evil.png", "evil.png"],
      ["..\\..\\windows\\win.png", "win.png"],
      ["invoice\u202Efdp.png", "invoicefdp.png"],
      ["\u0000\u0007bell\u007F.png", "bell.png"],
      ["...hidden.png", "hidden.png"],
    ];
    for (const [raw, stored] of cases) {
      const res = await upload(t.app, user.accessToken, [filePart(raw, png())]);
      expect(res.statusCode, raw).toBe(201);
      const file = res.json().data.file;
      expect(file.name).toBe(stored);
      expect(file.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      await call(t.app, { method: "DELETE", url: `/v1/files/${file.id}`, token: user.accessToken });
    }
    expect(blobPaths(t.runtime).every((p) => /[/\\]blobs[/\\][A-Za-z0-9_-]{2}[/\\][A-Za-z0-9_-]{22}$/.test(p))).toBe(true);
  });

  it("ignores the client's Content-Type: the sniffed type is stored and served", async () => {
    const res = await upload(t.app, user.accessToken, [filePart("real.png", png(), "text/html")]);
    expect(res.statusCode).toBe(201);
    expect(res.json().data.file.contentType).toBe("image/png");
    const got = await t.app.inject({ method: "GET", url: `/v1/files/${res.json().data.file.id}`, headers: { authorization: `Bearer ${user.accessToken}` } });
    expect(got.headers["content-type"]).toBe("image/png");
    await call(t.app, { method: "DELETE", url: `/v1/files/${res.json().data.file.id}`, token: user.accessToken });
  });

  it("never serves a blob altered on disk as if it were intact", async () => {
    const bytes = png({ pad: 90_000 }); // two 64 KiB frames
    const res = await upload(t.app, user.accessToken, [filePart("tamper.png", bytes)]);
    expect(res.statusCode).toBe(201);
    const id = res.json().data.file.id as string;
    const path = blobPaths(t.runtime).find((p) => p.endsWith(id))!;
    const original = readFileSync(path);
    const auth = { authorization: `Bearer ${user.accessToken}` };
    try {
      // A flipped bit in the last frame: the response is cut short of its Content-Length.
      const late = Buffer.from(original);
      late[late.length - 5]! ^= 1;
      writeFileSync(path, late);
      const got = await fetch(`${await listen()}/v1/files/${id}`, { headers: auth });
      expect(got.headers.get("content-length")).toBe(String(bytes.length));
      await expect(got.arrayBuffer()).rejects.toThrow();
      // A flipped bit in the first frame: nothing is sent but the error.
      const early = Buffer.from(original);
      early[200]! ^= 1;
      writeFileSync(path, early);
      const refused = await t.app.inject({ method: "GET", url: `/v1/files/${id}`, headers: auth });
      expect(refused.statusCode).toBe(500);
      expect(refused.json().code).toBe("INTERNAL_ERROR");
    } finally {
      writeFileSync(path, original);
      await call(t.app, { method: "DELETE", url: `/v1/files/${id}`, token: user.accessToken });
    }
  });

  it("refuses a type the deployment did not allow (UPLOAD_ALLOWED_TYPES)", async () => {
    const narrow = await createTestApp(mode, { env: { UPLOAD_ALLOWED_TYPES: "png" } });
    try {
      const u = await registerAndLogin(narrow.app);
      expect((await upload(narrow.app, u.accessToken, [filePart("a.png", png())])).statusCode).toBe(201);
      const res = await upload(narrow.app, u.accessToken, [filePart("a.pdf", pdf())]);
      expect(res.statusCode).toBe(415);
      expect(res.json().details).toMatchObject({ detected: "application/pdf", allowed: ["png"] });
    } finally {
      await narrow.close();
    }
  });
});
