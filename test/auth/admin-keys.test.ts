/**
 * `GET /v1/admin/keys`: the key status an administrator reads. It needs
 * `keys:read` (the admin role), says what the keyring and the token service
 * know — KEK versions before and after a rotation (through the functions
 * `rampart keys rotate | rewrap | retire` call), whether the rewrap is done,
 * the signing keys and which are in the JWKS — and carries no secret: not the
 * master key, a wrapped KEK or DEK, a check value, a sealed private key, nor
 * a private JWK member.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { call, registerAndLogin } from "../helpers/api.js";
import { makeAdmin } from "../helpers/identity.js";
import { testModes } from "../helpers/modes.js";

/** The ways a byte string can appear in JSON text. */
const encodings = (bytes: Uint8Array): string[] => {
  const b = Buffer.from(bytes);
  return [b.toString("hex"), b.toString("base64"), b.toString("base64url")];
};

/** Every member name in a JSON value, at any depth. */
function memberNames(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) memberNames(v, out);
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      out.add(k);
      memberNames(v, out);
    }
  }
  return out;
}

/** The `kid` in a compact JWS header, read without any JWT library. */
const kidOf = (jwt: string): string => (JSON.parse(Buffer.from(jwt.split(".")[0]!, "base64url").toString("utf8")) as { kid: string }).kid;

describe.each(testModes())("admin key status (%s)", (mode) => {
  const masterKey = randomBytes(32).toString("hex");
  let t: TestApp;
  let adminToken = "";
  let userToken = "";

  beforeAll(async () => {
    t = await createTestApp(mode, { env: { RAMPART_SECRET_MASTER_KEY: masterKey } });
    const a = await registerAndLogin(t.app);
    await makeAdmin(t.app, t.runtime, a.userId);
    adminToken = (await call(t.app, { method: "POST", url: "/v1/auth/login", body: { email: a.email, password: a.password } })).data.accessToken as string;
    // A second user: one more subject key wrapped by the current KEK version.
    userToken = (await registerAndLogin(t.app)).accessToken;
  });
  afterAll(() => t.close());

  const keys = async () => {
    const res = await call(t.app, { method: "GET", url: "/v1/admin/keys", token: adminToken });
    expect(res.statusCode, res.body).toBe(200);
    return res;
  };
  const kekRows = () => t.runtime.db.kysely.selectFrom("rampart_kek_versions").selectAll().orderBy("version").execute();

  it("needs a credential (401) and the keys:read permission: a user without it gets 403", async () => {
    const anonymous = await call(t.app, { method: "GET", url: "/v1/admin/keys" });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.code).toBe("UNAUTHENTICATED");
    const user = await call(t.app, { method: "GET", url: "/v1/admin/keys", token: userToken });
    expect(user.statusCode).toBe(403);
    expect(user.code).toBe("FORBIDDEN");
    expect(user.json().success).toBe(false);
    expect(t.app.identity.permissions.permissionsOfRole("admin").has("keys:read")).toBe(true);
    expect(t.app.identity.permissions.permissionsOfRole("user").has("keys:read")).toBe(false);
  });

  it("reports the KEK provider and versions as the keyring stores them, and the signing key that signed the admin's token, in the JWKS", async () => {
    const res = await keys();
    const body = res.json();
    expect(body.success).toBe(true);
    expect(body.traceId).toBe(res.headers["x-request-id"]);
    const { kek, signingKeys } = res.data;
    const rows = await kekRows();
    expect(rows.length).toBeGreaterThan(0);
    expect(kek.provider).toBe(rows[0]!.provider);
    expect(kek.versions.map((v: any) => [v.provider, v.keyId, v.version, v.state])).toEqual(rows.map((r) => [r.provider, r.key_id, r.version, r.state]));
    expect(kek.versions.map((v: any) => v.createdAt)).toEqual(rows.map((r) => new Date(r.created_at).toISOString()));
    const current = rows.filter((r) => r.state === "active").at(-1)!;
    expect(kek.current).toEqual({ provider: current.provider, keyId: current.key_id, version: current.version });
    expect(kek.versions.filter((v: any) => v.current).map((v: any) => v.version)).toEqual([current.version]);
    const subjectRows = await t.runtime.db.kysely.selectFrom("rampart_subject_keys").select("kek_version").execute();
    expect(kek.versions.find((v: any) => v.current).subjectKeys).toBe(subjectRows.filter((r) => r.kek_version === current.version).length);

    const stored = await t.runtime.db.kysely.selectFrom("rampart_signing_keys").select(["kid", "alg", "state"]).orderBy("activates_at").orderBy("kid").execute();
    expect(signingKeys.map((k: any) => [k.kid, k.alg, k.state])).toEqual(stored.map((r) => [r.kid, r.alg, r.state]));
    const jwks = await call(t.app, { method: "GET", url: "/.well-known/jwks.json" });
    const published = (jwks.json().keys as { kid: string }[]).map((k) => k.kid).sort();
    expect(signingKeys.filter((k: any) => k.published).map((k: any) => k.kid).sort()).toEqual(published);
    expect(signingKeys.filter((k: any) => k.signing).map((k: any) => k.kid)).toEqual([kidOf(adminToken)]);
  });

  it("after a KEK rotation the new version is current and the old one decrypt-only until rewrap; rewrap completes; retire marks it retired", async () => {
    const before = (await keys()).data.kek;
    const oldVersion = before.current.version as number;
    const ref = await t.runtime.crypto.rotateKek();
    expect(ref.version).toBeGreaterThan(oldVersion);

    let kek = (await keys()).data.kek;
    const byVersion = (k: any, v: number) => k.versions.find((x: any) => x.version === v);
    expect(kek.current.version).toBe(ref.version);
    expect(byVersion(kek, ref.version)).toMatchObject({ state: "active", current: true });
    expect(byVersion(kek, oldVersion)).toMatchObject({ state: "active", current: false });
    // Both users' subject keys are still wrapped by the old version.
    expect(byVersion(kek, oldVersion).subjectKeys).toBeGreaterThanOrEqual(2);
    expect(kek.rewrap.complete).toBe(false);
    expect(kek.rewrap.subjectKeys).toBe(byVersion(kek, oldVersion).subjectKeys);

    const result = await t.runtime.crypto.rewrap();
    expect(result.failed).toBe(0);
    kek = (await keys()).data.kek;
    expect(kek.rewrap).toMatchObject({ complete: true, subjectKeys: 0, ciphertexts: 0 });
    expect(byVersion(kek, oldVersion)).toMatchObject({ subjectKeys: 0, ciphertexts: 0 });
    expect(byVersion(kek, ref.version).subjectKeys).toBeGreaterThanOrEqual(2);

    await t.runtime.crypto.retireKek(oldVersion);
    kek = (await keys()).data.kek;
    expect(byVersion(kek, oldVersion)).toMatchObject({ state: "retired", current: false });
    expect(Date.parse(byVersion(kek, oldVersion).retiredAt)).not.toBeNaN();
    expect(byVersion(kek, ref.version)).toMatchObject({ state: "active", current: true, retiredAt: null });
  });

  it("after a signing-key rotation the successor is published but not yet signing", async () => {
    const rotated = await t.app.identity.tokens.rotate();
    const { signingKeys } = (await keys()).data;
    const next = signingKeys.find((k: any) => k.kid === rotated.kid);
    expect(next).toMatchObject({ state: "pending", alg: "EdDSA", signing: false, published: true, activatesAt: new Date(rotated.activatesAt).toISOString() });
    expect(signingKeys.filter((k: any) => k.signing).map((k: any) => k.kid)).toEqual([kidOf(adminToken)]);
    const jwks = await call(t.app, { method: "GET", url: "/.well-known/jwks.json" });
    expect((jwks.json().keys as { kid: string }[]).map((k) => k.kid)).toContain(rotated.kid);
  });

  it("carries no key material: no master key, wrapped KEK or DEK, check value, sealed private key or private JWK member", async () => {
    const res = await keys();
    const text = res.body;
    const lower = text.toLowerCase();
    const secrets: string[] = [masterKey, ...encodings(Buffer.from(masterKey, "hex"))];
    for (const r of await kekRows()) {
      if (r.wrapped_key) secrets.push(...encodings(r.wrapped_key));
      if (r.master_key_check) secrets.push(r.master_key_check);
    }
    const subjects = await t.runtime.db.kysely.selectFrom("rampart_subject_keys").select(["wrapped_dek", "key_id"]).execute();
    expect(subjects.length).toBeGreaterThan(0);
    for (const s of subjects) secrets.push(...encodings(s.wrapped_dek));
    const sealed = await t.runtime.db.kysely.selectFrom("rampart_signing_keys").select("private_key_sealed").execute();
    expect(sealed.length).toBeGreaterThan(1);
    for (const s of sealed) secrets.push(s.private_key_sealed, s.private_key_sealed.replace(/^rp1:/, ""));
    for (const s of secrets) expect(lower.includes(s.toLowerCase()), `the response holds ${s.slice(0, 12)}…`).toBe(false);
    expect(text).not.toContain("rp1:");
    const names = memberNames(res.json());
    for (const n of ["d", "p", "q", "dp", "dq", "qi", "k", "x", "privateKeySealed", "publicJwk", "wrappedKey", "wrappedDek", "masterKeyCheck"]) expect(names.has(n), n).toBe(false);
  });
});
