/**
 * The `files.bytes` meter (bytes uploaded in the period, net of files deleted
 * in the same period) in both storage modes: uploads reserve their size, the
 * one that would pass the limit is refused with nothing left behind (no temp
 * file, blob or row), parallel uploads at the limit admit exactly what fits,
 * deletion gives the bytes back within the period, and a new month starts
 * from zero.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/runtime/index.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { testModes } from "../helpers/modes.js";
import { filePart, png } from "../files/fixtures.js";
import { blobPaths, fileRows, tempFiles, upload } from "../files/helpers.js";

const LIMIT = 10_000;
const env = { RAMPART_PLANS: JSON.stringify({ files: { "files.bytes": { month: LIMIT } } }), RAMPART_DEFAULT_PLAN: "files" };

/** A PNG of exactly `size` bytes. */
function pngOf(size: number): Buffer {
  const b = png({ pad: size - png().length - 12 });
  expect(b.length).toBe(size);
  return b;
}

function bytesUsed(usage: { data: { meters: { meter: string; period: string; used: number }[] } }): number {
  return usage.data.meters.find((m) => m.meter === "files.bytes" && m.period === "month")!.used;
}

describe.each(testModes())("files.bytes quota (%s)", (mode) => {
  let t: TestApp;
  const clock = new ManualClock(Date.UTC(2026, 4, 31, 23, 50));
  beforeAll(async () => {
    t = await createTestApp(mode, { clock, env });
  });
  afterAll(() => t?.close());

  const usage = (token: string) => call(t.app, { method: "GET", url: "/v1/me/usage", token });

  it("reserves each upload's size, warns from 80 %, and refuses the upload that would pass the limit without leaving a file", async () => {
    const u = await registerAndLogin(t.app);
    const first = await upload(t.app, u.accessToken, [filePart("a.png", pngOf(6000))]);
    expect(first.statusCode).toBe(201);
    expect(first.headers["x-quota-warning"]).toBeUndefined();
    const second = await upload(t.app, u.accessToken, [filePart("b.png", pngOf(2500))]);
    expect(second.statusCode).toBe(201);
    expect(second.headers["x-quota-warning"]).toContain(`"files.bytes";period="month";used=8500;limit=10000`);
    expect(bytesUsed(await usage(u.accessToken))).toBe(8500);

    const blobs = blobPaths(t.runtime).length;
    const refused = await upload(t.app, u.accessToken, [filePart("c.png", pngOf(2000))]);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().code).toBe("QUOTA_EXCEEDED");
    expect(refused.json().details).toMatchObject({ meter: "files.bytes", period: "month", limit: LIMIT });
    expect(Number(refused.headers["retry-after"])).toBe(10 * 60);
    expect(tempFiles(t.runtime)).toEqual([]);
    expect(blobPaths(t.runtime)).toHaveLength(blobs);
    expect(await fileRows(t.runtime, u.userId)).toBe(2);
    expect(bytesUsed(await usage(u.accessToken))).toBe(8500);

    // What fits still goes in.
    expect((await upload(t.app, u.accessToken, [filePart("d.png", pngOf(1500))])).statusCode).toBe(201);
    expect(bytesUsed(await usage(u.accessToken))).toBe(LIMIT);
    // At the limit an upload is refused before its body is read.
    const full = await upload(t.app, u.accessToken, [filePart("e.png", pngOf(200))]);
    expect(full.statusCode).toBe(429);
    expect(tempFiles(t.runtime)).toEqual([]);

    // Deleting gives the bytes back within the period.
    expect((await call(t.app, { method: "DELETE", url: `/v1/files/${first.json().data.file.id}`, token: u.accessToken })).statusCode).toBe(200);
    expect(bytesUsed(await usage(u.accessToken))).toBe(4000);
    expect((await upload(t.app, u.accessToken, [filePart("f.png", pngOf(5000))])).statusCode).toBe(201);
  });

  it("parallel uploads at the limit admit exactly what fits", async () => {
    const u = await registerAndLogin(t.app);
    expect((await upload(t.app, u.accessToken, [filePart("base.png", pngOf(4000))])).statusCode).toBe(201);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => upload(t.app, u.accessToken, [filePart(`p${i}.png`, pngOf(2000))])));
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([201, 201, 201, 429, 429, 429]);
    expect(await fileRows(t.runtime, u.userId)).toBe(4);
    expect(bytesUsed(await usage(u.accessToken))).toBe(LIMIT);
    expect(tempFiles(t.runtime)).toEqual([]);
  });

  it("a new month starts from zero; deleting last month's file gives nothing back this month", async () => {
    const u = await registerAndLogin(t.app);
    const old = await upload(t.app, u.accessToken, [filePart("may.png", pngOf(9000))]);
    expect(old.statusCode).toBe(201);
    clock.set(Date.UTC(2026, 5, 1, 0, 1));
    // The old access token expired with the clock move: log in again.
    const fresh = { accessToken: (await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: u.email, password: u.password } })).data.accessToken as string };
    expect(bytesUsed(await usage(fresh.accessToken))).toBe(0);
    expect((await upload(t.app, fresh.accessToken, [filePart("june.png", pngOf(3000))])).statusCode).toBe(201);
    expect((await call(t.app, { method: "DELETE", url: `/v1/files/${old.json().data.file.id}`, token: fresh.accessToken })).statusCode).toBe(200);
    expect(bytesUsed(await usage(fresh.accessToken))).toBe(3000);
  });
});
