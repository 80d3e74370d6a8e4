/**
 * Threat: BREACH — a compressed response that holds a secret next to text an
 * attacker can influence leaks the secret through its length. Response
 * compression (src/http/compress.ts) therefore applies only to routes that
 * opt in with `config: { compress: true }`, never to a token, key, code or
 * export response even when it is large and the client asks for it, nor to
 * an answer that sets a cookie. Opted-in lists and documents are compressed
 * per Accept-Encoding (br, gzip, deflate) above COMPRESSION_THRESHOLD_BYTES,
 * decompress to exactly the uncompressed JSON, and always carry
 * `Vary: accept-encoding`.
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import { Type } from "@sinclair/typebox";
import Fastify, { type FastifyInstance, type LightMyRequestResponse, type RouteOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rampart } from "../../src/server/rampart.js";
import { ALL_ROUTES } from "../../src/server/options.js";
import { rampartServerOptions } from "../../src/server/server-options.js";
import { ManualClock } from "../../src/runtime/index.js";
import { Envelope, ok } from "../../src/server/envelope.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { makeAdmin, oathtoolCode } from "../helpers/identity.js";
import { testModes } from "../helpers/modes.js";
import { createTestRuntime } from "../helpers/runtime.js";
import { createTestEnv } from "../helpers/modes.js";

const ASK_ALL = { "accept-encoding": "br, gzip, deflate" };

function decode(res: LightMyRequestResponse): string {
  const raw = res.rawPayload;
  switch (res.headers["content-encoding"]) {
    case "br":
      return brotliDecompressSync(raw).toString("utf8");
    case "gzip":
      return gunzipSync(raw).toString("utf8");
    case "deflate":
      return inflateSync(raw).toString("utf8");
    case undefined:
      return raw.toString("utf8");
    default:
      throw new Error(`unexpected content-encoding ${String(res.headers["content-encoding"])}`);
  }
}

const varies = (res: LightMyRequestResponse) => String(res.headers.vary ?? "").toLowerCase().split(/\s*,\s*/);

/** A host route that opted in but sets a cookie. */
function cookieRoute(app: FastifyInstance): void {
  app.get(
    "/host/cookie-list",
    { config: { compress: true }, schema: { response: { 200: Envelope(Type.Object({ items: Type.Array(Type.String()) })) } } },
    async (request, reply) => {
      reply.header("set-cookie", "pref=1; Path=/; HttpOnly; Secure; SameSite=Strict");
      return ok(request, { items: Array.from({ length: 200 }, (_, i) => `item ${i}`) });
    },
  );
}

describe.each(testModes())("response compression (%s)", (mode) => {
  let t: TestApp;
  let adminToken: string;
  beforeAll(async () => {
    t = await createTestApp(mode);
    const admin = await registerAndLogin(t.app);
    await makeAdmin(t.app, t.runtime, admin.userId);
    adminToken = (await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: admin.email, password: admin.password } })).data.accessToken as string;
    for (let i = 0; i < 8; i++) await registerAndLogin(t.app);
  });
  afterAll(() => t.close());

  const users = (headers: Record<string, string>, query = "") => t.app.inject({ method: "GET", url: `/v1/admin/users${query}`, headers: { authorization: `Bearer ${adminToken}`, ...headers } });

  it("compresses a large list per Accept-Encoding, and it decompresses to the same JSON", async () => {
    const plain = await users({});
    expect(plain.statusCode).toBe(200);
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.rawPayload.length).toBeGreaterThan(1024);
    const expected = JSON.parse(plain.body) as { data: unknown };
    for (const encoding of ["br", "gzip", "deflate"]) {
      const res = await users({ "accept-encoding": encoding });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-encoding"]).toBe(encoding);
      expect(varies(res)).toContain("accept-encoding");
      expect(Number(res.headers["content-length"])).toBe(res.rawPayload.length);
      expect(res.rawPayload.length).toBeLessThan(plain.rawPayload.length);
      expect(res.headers["cache-control"]).toBe("no-store");
      const body = JSON.parse(decode(res)) as { data: unknown; traceId: string };
      expect(body.data).toEqual(expected.data);
      expect(body.traceId).toBe(res.headers["x-request-id"]);
    }
    // The client's preference decides; `identity` alone means none.
    expect((await users({ "accept-encoding": "br;q=0.2, gzip;q=0.9" })).headers["content-encoding"]).toBe("gzip");
    const identity = await users({ "accept-encoding": "identity" });
    expect(identity.headers["content-encoding"]).toBeUndefined();
    expect(varies(identity)).toContain("accept-encoding");
  });

  it("compresses the OpenAPI document, and a HEAD of it sends no body", async () => {
    const plain = await t.app.inject({ method: "GET", url: "/openapi.json" });
    const res = await t.app.inject({ method: "GET", url: "/openapi.json", headers: { "accept-encoding": "gzip" } });
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(JSON.parse(decode(res))).toEqual(JSON.parse(plain.body));
    const head = await t.app.inject({ method: "HEAD", url: "/openapi.json", headers: { "accept-encoding": "gzip" } });
    expect(head.statusCode).toBe(200);
    expect(head.rawPayload.length).toBe(0);
    expect(head.headers["content-type"]).toBe(res.headers["content-type"]);
  });

  it("sends small bodies as they are, with Vary", async () => {
    const res = await users(ASK_ALL, "?limit=1");
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.length).toBeLessThan(1024);
    expect(res.headers["content-encoding"]).toBeUndefined();
    expect(varies(res)).toContain("accept-encoding");
    expect(JSON.parse(res.body)).toMatchObject({ success: true });
    // The error envelope of an opted-in route is small too, and stays readable.
    const denied = await t.app.inject({ method: "GET", url: "/v1/admin/users", headers: ASK_ALL });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers["content-encoding"]).toBeUndefined();
    expect(JSON.parse(denied.body)).toMatchObject({ success: false, code: "UNAUTHENTICATED" });
  });

  it("never compresses the GDPR export (it can hold a pending reset link): neither the JSON nor the zip", async () => {
    const u = await registerAndLogin(t.app);
    await call(t.app, { method: "POST", url: "/v1/auth/password/forgot", body: { email: u.email } });
    const json = await t.app.inject({ method: "GET", url: "/v1/me/export", headers: { authorization: `Bearer ${u.accessToken}`, ...ASK_ALL } });
    expect(json.statusCode).toBe(200);
    expect(json.rawPayload.length).toBeGreaterThan(1024);
    expect(json.headers["content-encoding"]).toBeUndefined();
    expect(JSON.parse(json.body)).toMatchObject({ success: true });
    const zip = await t.app.inject({ method: "GET", url: "/v1/me/export?format=zip", headers: { authorization: `Bearer ${u.accessToken}`, ...ASK_ALL } });
    expect(zip.statusCode).toBe(200);
    expect(zip.headers["content-encoding"]).toBeUndefined();
    expect(zip.rawPayload.subarray(0, 4).toString("hex")).toBe("504b0304");
  });
});

describe("responses that carry secrets are never compressed, even above a threshold of 0", () => {
  let t: TestApp;
  const clock = new ManualClock(Date.now());
  beforeAll(async () => {
    t = await createTestApp("embedded", { clock, env: { COMPRESSION_THRESHOLD_BYTES: "0" }, configure: cookieRoute });
  });
  afterAll(() => t.close());

  const post = (url: string, body: unknown, token?: string) =>
    t.app.inject({ method: "POST", url, payload: body as object, headers: { ...ASK_ALL, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  const plain = (res: LightMyRequestResponse, status: number) => {
    expect(res.statusCode, res.body).toBe(status);
    expect(res.headers["content-encoding"], `${res.statusCode} ${res.body.slice(0, 80)}`).toBeUndefined();
    return (JSON.parse(res.body) as { data: Record<string, unknown> }).data;
  };

  it("login, refresh, MFA enrolment, backup codes, MFA login and API-key creation", async () => {
    const creds = { email: `secret.${Date.now()}@example.com`, password: "correct horse battery staple" };
    plain(await post("/v1/auth/register", creds), 202);
    const login = plain(await post("/v1/auth/login", creds), 200);
    expect(login.accessToken).toEqual(expect.any(String));
    const pair = plain(await post("/v1/auth/refresh", { refreshToken: login.refreshToken }), 200);
    const token = pair.accessToken as string;
    const enroll = plain(await post("/v1/auth/mfa/totp/enroll", undefined, token), 200);
    expect(JSON.stringify(enroll).length).toBeGreaterThan(1024);
    const confirm = plain(await post("/v1/auth/mfa/totp/confirm", { code: oathtoolCode(enroll.secret as string, clock.now()) }, token), 200);
    expect(confirm.backupCodes).toHaveLength(10);
    clock.advance(30_000);
    plain(await post("/v1/auth/mfa/backup-codes/regenerate", { code: oathtoolCode(enroll.secret as string, clock.now()) }, token), 200);
    const challenge = plain(await post("/v1/auth/login", creds), 200);
    clock.advance(30_000);
    const mfaLogin = plain(await post("/v1/auth/mfa/verify", { mfaToken: challenge.mfaToken, code: oathtoolCode(enroll.secret as string, clock.now()) }), 200);
    const key = plain(await post("/v1/api-keys", { name: "ci", scopes: ["me:read"] }, mfaLogin.accessToken as string), 201);
    expect(key.key).toMatch(/^rp_/);
  });

  it("an opted-in route that sets a cookie", async () => {
    const res = await t.app.inject({ method: "GET", url: "/host/cookie-list", headers: ASK_ALL });
    plain(res, 200);
    expect(res.headers["set-cookie"]).toBeDefined();
    expect(varies(res)).toContain("accept-encoding");
  });

  it("while an opted-in list is compressed at the same threshold", async () => {
    const res = await t.app.inject({ method: "GET", url: "/openapi.json", headers: ASK_ALL });
    expect(res.headers["content-encoding"]).toBe("br");
  });
});

describe("which routes are compressed", () => {
  it("only the reviewed lists and documents opt in, and none of them returns a secret-looking field", async () => {
    const env = await createTestEnv("embedded");
    const { runtime } = await createTestRuntime(env);
    const routes: RouteOptions[] = [];
    const app = Fastify(rampartServerOptions(runtime));
    app.addHook("onRoute", (r) => void routes.push(r));
    try {
      await app.register(rampart, { runtime, routes: ALL_ROUTES });
      await app.ready();
      const compressed = routes.filter((r) => r.config?.compress === true);
      // The console's built files (its code, styles and the page shell: public, the same for everyone) opt in too.
      const consoleFiles = compressed.filter((r) => r.url.startsWith("/console/"));
      expect(consoleFiles.every((r) => /^\/console\/(?:index\.html|assets\/[\w.-]+)$/.test(r.url) && r.schema?.response === undefined)).toBe(true);
      const opted = compressed.filter((r) => !r.url.startsWith("/console/"));
      // A route added here has been checked for BREACH: its body never holds a token, key, code or link.
      expect([...new Set(opted.map((r) => r.url))].sort()).toEqual(["/openapi.json", "/v1/admin/audit", "/v1/admin/usage", "/v1/admin/users", "/v1/files"]);
      // Reads only (Fastify adds a HEAD route to each GET).
      expect(new Set(compressed.map((r) => String(r.method)))).toEqual(new Set(["GET", "HEAD"]));
      const names = (schema: unknown): string[] =>
        schema && typeof schema === "object" ? Object.entries(schema as Record<string, unknown>).flatMap(([k, v]) => (k === "properties" && v && typeof v === "object" ? [...Object.keys(v), ...names(v)] : names(v))) : [];
      for (const r of opted) {
        const fields = names(r.schema?.response);
        // The walk sees the fields of each documented response (the OpenAPI document has no response schema).
        if (r.url !== "/openapi.json") expect(fields.length, r.url).toBeGreaterThan(3);
        expect(fields.filter((f) => /token|secret|password|backup|otpauth|qr|^key$|code$/i.test(f)), r.url).toEqual([]);
      }
      // Every other route has no compression hook at all.
      expect(routes.filter((r) => r.config?.compress !== true).every((r) => r.compress === false)).toBe(true);
    } finally {
      await app.close();
      await runtime.close();
      await env.cleanup();
    }
  });

  it("COMPRESSION_ENABLED=false compresses nothing", async () => {
    const t = await createTestApp("embedded", { env: { COMPRESSION_ENABLED: "false" } });
    try {
      const res = await t.app.inject({ method: "GET", url: "/openapi.json", headers: ASK_ALL });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-encoding"]).toBeUndefined();
      expect(varies(res)).not.toContain("accept-encoding");
    } finally {
      await t.close();
    }
  });
});
