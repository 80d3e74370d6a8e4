/**
 * Threat: text that is not valid Unicode reaches storage. Invalid UTF-8 bytes
 * in a JSON body were silently replaced with U+FFFD (so distinct inputs store,
 * compare and hash alike, and what is stored is not what was sent), and JSON
 * `\uD800` escapes put unpaired surrogates into names, which no UTF-8 encoder
 * can write faithfully (a driver, a hash or a log later replaces or rejects
 * them). Every field, on every route, must be refused with `400
 * VALIDATION_FAILED` naming it, and nothing may be stored.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, credentials, registerAndLogin } from "../helpers/api.js";
import { testModes } from "../helpers/modes.js";
import { filePart, multipart, png } from "../files/fixtures.js";

interface Problem {
  statusCode: number;
  body: string;
}

function expectRefused(res: Problem, paths: string[]): void {
  expect(res.statusCode, res.body).toBe(400);
  const body = JSON.parse(res.body) as { code: string; details?: { fields?: { path: string; message: string }[] } };
  expect(body.code).toBe("VALIDATION_FAILED");
  const fields = body.details?.fields ?? [];
  expect(fields.map((f) => f.path).sort()).toEqual([...paths].sort());
  // Refused for the encoding, by the one rule, not by some field's own format or policy.
  for (const f of fields) expect(f.message, f.path).toMatch(/not valid Unicode/);
}

/** A JSON body written as raw bytes, with `bytes` spliced in where `@@` stands. */
function rawJson(template: string, bytes: number[]): Buffer {
  const [before, after] = template.split("@@") as [string, string];
  return Buffer.concat([Buffer.from(before, "utf8"), Buffer.from(bytes), Buffer.from(after, "utf8")]);
}

describe.each(testModes())("well-formed Unicode on the wire (%s)", (mode) => {
  let t: TestApp;
  let user: Awaited<ReturnType<typeof registerAndLogin>>;

  beforeAll(async () => {
    t = await createTestApp(mode);
    user = await registerAndLogin(t.app);
    const named = await call(t.app, { method: "PATCH", url: "/v1/me", token: user.accessToken, body: { name: "Ada Lovelace" } });
    expect(named.statusCode).toBe(200);
  });
  afterAll(() => t.close());

  async function storedName(): Promise<unknown> {
    const me = await call(t.app, { method: "GET", url: "/v1/me", token: user.accessToken });
    expect(me.statusCode).toBe(200);
    return me.data.user.name;
  }

  async function patchMe(payload: Buffer | string): Promise<Problem> {
    return t.app.inject({ method: "PATCH", url: "/v1/me", payload, headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" } });
  }

  it("refuses invalid UTF-8 bytes in a JSON string, naming the field, and stores nothing", async () => {
    // A lone continuation byte, an overlong "/", an encoded surrogate (ED A0 80), a truncated sequence, 0xFF.
    for (const bytes of [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xff]]) {
      expectRefused(await patchMe(rawJson('{"name":"Mallory@@"}', bytes)), ["body.name"]);
    }
    expect(await storedName()).toBe("Ada Lovelace");
  });

  it("refuses an unpaired surrogate escape in PATCH /v1/me name and keeps the old name", async () => {
    for (const name of ["\\ud800", "x\\udfffy", "\\udc00\\ud800", "\\ud83d"]) {
      expectRefused(await patchMe(`{"name":"${name}"}`), ["body.name"]);
    }
    expect(await storedName()).toBe("Ada Lovelace");
  });

  it("accepts well-formed text written raw or as escaped surrogate pairs", async () => {
    const ok = await patchMe('{"name":"Zoë \\ud83d\\ude00 李"}');
    expect(ok.statusCode, ok.body).toBe(200);
    expect(await storedName()).toBe("Zoë 😀 李");
    const raw = await patchMe(Buffer.from('{"name":"Ada Lovelace 🧮"}', "utf8"));
    expect(raw.statusCode, raw.body).toBe(200);
    expect(await storedName()).toBe("Ada Lovelace 🧮");
  });

  it("refuses unpaired surrogates in the register email and password by the same rule, creating no account", async () => {
    const creds = credentials();
    const badEmail = await t.app.inject({
      method: "POST",
      url: "/v1/auth/register",
      payload: `{"email":"x\\ud800${creds.email}","password":"${creds.password}"}`,
      headers: { "content-type": "application/json" },
    });
    expectRefused(badEmail, ["body.email"]);
    const badPassword = await t.app.inject({
      method: "POST",
      url: "/v1/auth/register",
      payload: `{"email":"${creds.email}","password":"${creds.password}\\udbff"}`,
      headers: { "content-type": "application/json" },
    });
    expectRefused(badPassword, ["body.password"]);
    // Neither attempt created the account: the password the attacker meant does not log in.
    const login = await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: creds.email, password: `${creds.password}\uFFFD` } });
    expect(login.statusCode).toBe(401);
  });

  it("names every ill-formed field at once, in nested objects and arrays", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/auth/login",
      payload: rawJson('{"email":"a\\udc00@example.com","password":"@@","extra":{"list":["ok","\\ud800"]}}', [0xfe]),
      headers: { "content-type": "application/json" },
    });
    expectRefused(res, ["body.email", "body.password", "body.extra.list[1]"]);
  });

  it("still refuses prototype-poisoning keys through the strict JSON parser", async () => {
    for (const payload of ['{"name":"x","__proto__":{"admin":true}}', '{"name":"x","constructor":{"prototype":{"admin":true}}}']) {
      const res = await patchMe(payload);
      expect(res.statusCode, payload).toBe(400);
      expect(JSON.parse(res.body).code).toBe("VALIDATION_FAILED");
    }
    expect(await storedName()).toBe("Ada Lovelace 🧮");
  });

  it("refuses malformed percent-encoded UTF-8 in a query string, naming the parameter", async () => {
    for (const value of ["%ff", "%ed%a0%80", "%e2%82", "%"]) {
      const res = await call(t.app, { method: "GET", url: `/v1/files?cursor=${value}`, token: user.accessToken });
      expectRefused(res, ["querystring.cursor"]);
    }
    // Valid percent-encoding passes ("%35" is "5").
    const fine = await call(t.app, { method: "GET", url: "/v1/files?limit=%35", token: user.accessToken });
    expect(fine.statusCode, fine.body).toBe(200);
  });

  it("refuses a multipart file name with invalid UTF-8 bytes, naming it, and stores no file", async () => {
    const { payload, headers } = multipart([filePart("photo-@@.png", png(), "image/png")]);
    const at = payload.indexOf("@@");
    const body = Buffer.concat([payload.subarray(0, at), Buffer.from([0xff, 0xfe]), payload.subarray(at + 2)]);
    const res = await t.app.inject({ method: "POST", url: "/v1/files", payload: body, headers: { ...headers, authorization: `Bearer ${user.accessToken}` } });
    expectRefused(res, ["body.file.filename"]);
    const list = await call(t.app, { method: "GET", url: "/v1/files", token: user.accessToken });
    expect(list.statusCode).toBe(200);
    expect(list.data.files).toEqual([]);
    // The same upload with a well-formed name is stored.
    const ok = multipart([filePart("photo-é.png", png(), "image/png")]);
    const stored = await t.app.inject({ method: "POST", url: "/v1/files", payload: ok.payload, headers: { ...ok.headers, authorization: `Bearer ${user.accessToken}` } });
    expect(stored.statusCode, stored.body).toBe(201);
  });
});
