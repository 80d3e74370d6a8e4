/**
 * Signing keys over time, in both storage modes: the first key is created once
 * however many instances start together; a rotated-in key is published in the
 * JWKS before it signs; after it takes over, old tokens still verify until the
 * retired key's window (token lifetime + skew) ends and then fail; instances
 * sharing the database converge (reload on `signing-keys:changed`); an
 * emergency rotation removes the old key everywhere at once. Private keys are
 * stored sealed and bound to their kid.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { listSigningKeys, sealContext, settingsFromConfig } from "../../../src/auth/tokens/index.js";
import { testModes } from "../../helpers/modes.js";
import { ed25519Signer, eventually, forge, ourPrivateKey, tokenStores, validClaims, type TokenFixture, type TokenStores } from "./helpers.js";

const PUBLISH_DELAY = 120_000;
const WINDOW = (900 + 30) * 1000;

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => "ACCEPTED",
    (err: { code?: string }) => err.code ?? "THREW",
  );
}

describe.each(testModes())("signing keys (%s)", (mode) => {
  let stores: TokenStores;
  let f: TokenFixture | undefined;
  beforeAll(async () => {
    stores = await tokenStores(mode);
  });
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });
  afterAll(async () => stores.close());

  it("creates exactly one first key when instances start together on an empty database", async () => {
    const { runtime, services } = await stores.startTogether(4);
    try {
      const rows = await listSigningKeys(runtime.db.kysely);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.state).toBe("active");
      for (const s of services) expect(s.currentKid()).toBe(rows[0]!.kid);
    } finally {
      await Promise.all(services.map((s) => s.close()));
    }
  });

  it("stores the private key sealed and bound to its kid", async () => {
    f = await stores.fixture();
    const [row] = await listSigningKeys(f.runtime.db.kysely);
    const der = await f.sealer.open(row!.privateKeySealed, sealContext(row!.kid));
    const seed = der.subarray(der.length - 32);
    expect(row!.privateKeySealed).not.toContain(der.toString("base64"));
    expect(row!.privateKeySealed).not.toContain(seed.toString("base64url"));
    expect(row!.privateKeySealed).not.toContain(seed.toString("hex"));
    await expect(f.sealer.open(row!.privateKeySealed, sealContext("another-kid"))).rejects.toThrow();
  });

  it("publishes a new key before it signs, switches at its activation, keeps the old one for ttl + skew", async () => {
    f = await stores.fixture();
    const b = (await f.instance()).tokens;
    const oldKid = f.tokens.currentKid()!;
    const early = await f.tokens.issue({ sub: "u", sid: "s1", roles: [] });

    const { kid: newKid, activatesAt } = await f.tokens.rotate();
    expect(activatesAt).toBe(f.clock.now() + PUBLISH_DELAY);
    // Published at once on this instance, and on the other through the change message.
    expect(f.tokens.jwks().keys.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort());
    await eventually(() => b.jwks().keys.some((k) => k.kid === newKid));
    // ... but does not sign yet, on either instance.
    expect((await f.tokens.issue({ sub: "u", sid: "s1", roles: [] })).kid).toBe(oldKid);
    expect((await b.issue({ sub: "u", sid: "s1", roles: [] })).kid).toBe(oldKid);
    // A second rotate while one is pending returns the pending one.
    expect(await f.tokens.rotate()).toMatchObject({ kid: newKid, created: false });

    f.clock.advance(PUBLISH_DELAY - 1000);
    const last = await f.tokens.issue({ sub: "u", sid: "s1", roles: [] });
    expect(last.kid).toBe(oldKid);
    f.clock.advance(1000);
    // Both instances switch at the activation time, before any row changes.
    const fresh = await f.tokens.issue({ sub: "u", sid: "s2", roles: [] });
    expect(fresh.kid).toBe(newKid);
    expect((await b.issue({ sub: "u", sid: "s2", roles: [] })).kid).toBe(newKid);
    expect(await f.tokens.checkRotation()).toBe(true);
    const rows = await listSigningKeys(f.runtime.db.kysely);
    expect(rows.find((r) => r.kid === oldKid)).toMatchObject({ state: "retired", retiredAt: activatesAt, publishUntil: activatesAt + WINDOW });
    expect(rows.find((r) => r.kid === newKid)).toMatchObject({ state: "active", activatedAt: activatesAt });
    await eventually(async () => (await codeOf(b.verify(fresh.token))) === "ACCEPTED");

    // Old tokens still verify on both instances until the window ends.
    f.clock.set(activatesAt + WINDOW - 2000);
    for (const t of [f.tokens, b]) expect((await t.verify(last.token)).kid).toBe(oldKid);
    expect(f.tokens.jwks().keys.map((k) => k.kid)).toContain(oldKid);
    expect(await codeOf(f.tokens.verify(early.token))).toBe("TOKEN_EXPIRED");

    // After the window the old key is gone: even a token it signs with a live `exp` fails.
    const oldKey = await ourPrivateKey(f, oldKid);
    f.clock.set(activatesAt + WINDOW);
    expect(f.tokens.jwks().keys.map((k) => k.kid)).toEqual([newKid]);
    const lateForgery = forge({ alg: "EdDSA", typ: "at+jwt", kid: oldKid }, validClaims(f), ed25519Signer(oldKey));
    for (const t of [f.tokens, b]) {
      expect(await codeOf(t.verify(last.token))).not.toBe("ACCEPTED");
      expect(await codeOf(t.verify(lateForgery))).toBe("UNAUTHENTICATED");
    }
    expect(await b.checkRotation()).toBe(true);
    expect((await listSigningKeys(f.runtime.db.kysely)).map((r) => r.kid)).toEqual([newKid]);
    const now = await f.tokens.issue({ sub: "u", sid: "s3", roles: [] });
    expect((await b.verify(now.token)).kid).toBe(newKid);
  });

  it("rotates on schedule: successor created a publish delay before the rotation age", async () => {
    f = await stores.fixture({ settings: { ...settingsFromConfig(stores.config), rotationMs: 86_400_000 } });
    const first = f.tokens.currentKid()!;
    f.clock.advance(86_400_000 - PUBLISH_DELAY - 1);
    expect(await f.tokens.checkRotation()).toBe(false);
    f.clock.advance(1);
    expect(await f.tokens.checkRotation()).toBe(true);
    const pending = (await listSigningKeys(f.runtime.db.kysely)).find((r) => r.state === "pending")!;
    expect(f.tokens.currentKid()).toBe(first);
    f.clock.advance(PUBLISH_DELAY);
    expect(f.tokens.currentKid()).toBe(pending.kid);
  });

  it("emergency rotation removes the old key on every instance at once, cached tokens included", async () => {
    f = await stores.fixture();
    const b = (await f.instance()).tokens;
    const old = await f.tokens.issue({ sub: "u", sid: "s", roles: [] });
    expect((await b.verify(old.token)).sid).toBe("s"); // now cached on b
    const { kid, removedKid } = await f.tokens.rotate({ emergency: true });
    expect(removedKid).toBe(old.kid);
    expect(await codeOf(f.tokens.verify(old.token))).toBe("UNAUTHENTICATED");
    await eventually(async () => (await codeOf(b.verify(old.token))) === "UNAUTHENTICATED");
    expect(b.jwks().keys.map((k) => k.kid)).toEqual([kid]);
    const fresh = await f.tokens.issue({ sub: "u", sid: "s", roles: [] });
    expect(fresh.kid).toBe(kid);
    expect((await b.verify(fresh.token)).kid).toBe(kid);
  });

  it("a reload picks up changes made while the message was missed", async () => {
    f = await stores.fixture();
    const b = (await f.instance()).tokens;
    await b.close(); // no longer subscribed: converges only through its reload
    const { kid } = await f.tokens.rotate();
    expect(b.jwks().keys.map((k) => k.kid)).not.toContain(kid);
    await b.reload();
    expect(b.jwks().keys.map((k) => k.kid)).toContain(kid);
  });
});
