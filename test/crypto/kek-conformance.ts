/**
 * The contract every KEK provider keeps (src/crypto/kek/types.ts), as one
 * suite that each provider's test runs against its own backend: built-ins
 * and a host app's provider alike. What it pins: a wrapped DEK unwraps to the
 * same bytes, here and on another instance; the key context is bound (another
 * context, a tampered wrapped key, a reference to another provider, key or
 * version all fail with the one DecryptionFailed, no detail); rotation makes
 * new wraps use the new version while earlier ones still unwrap; retirement
 * makes a version's wraps unreadable; a keyring on the provider answers its
 * readiness probe; close releases the instance, not the key.
 */
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { describe, expect, it } from "vitest";
import { createKeyring, DecryptionFailed, type GeneratedKey, type KekProvider, type KeyringConfig } from "../../src/crypto/index.js";
import type { Tables } from "../../src/db/tables.js";
import type { Clock } from "../../src/runtime/clock.js";
import { MemorySecrets, randomKeySecret } from "./helpers.js";

export interface KekSubject {
  /** Opens an instance of the provider on the shared backend; a second call is another instance of the same deployment. */
  open(): Promise<KekProvider>;
  /**
   * `numbered`: rotate makes version n+1 and retire disables a version (local, pkcs11, Vault Transit).
   * `internal`: the KMS rotates its key material behind one reference, and retiring is the operator's step in the KMS (AWS KMS).
   */
  versioning: "numbered" | "internal";
  /** Tampered copies of a wrapped key; default: a bit flipped at the start, middle and end, truncations, empty. */
  tamper?(wrapped: Buffer): Buffer[];
  /** Storage for the keyring-level checks. */
  keyring: { config: KeyringConfig; db: Kysely<Tables>; log: Logger; clock: Clock };
}

function defaultTamperings(wrapped: Buffer): Buffer[] {
  const flip = (i: number) => {
    const b = Buffer.from(wrapped);
    b[i]! ^= 0x01;
    return b;
  };
  return [flip(0), flip(wrapped.length >> 1), flip(wrapped.length - 1), wrapped.subarray(0, wrapped.length - 1), wrapped.subarray(0, wrapped.length >> 1), Buffer.alloc(0)];
}

/** The one rejection: DecryptionFailed, its fixed message, no cause (errors.ts). */
async function expectRejected(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DecryptionFailed);
  expect((err as Error).message).toBe(new DecryptionFailed().message);
  expect((err as Error).cause).toBeUndefined();
}

const ctx = { "rampart:purpose": "dek" };
const subjectCtx = (subject: string) => ({ "rampart:purpose": "subject-dek", "rampart:subject": subject });

/**
 * Registers the conformance tests of one provider in the calling file. The
 * tests share the subject's backend and run in order (rotation, then the
 * retirement of the version rotated away from). The caller's beforeAll makes
 * the backend; `subject()` is read when each test runs.
 */
export function kekConformance(label: string, subject: () => KekSubject): void {
  describe(`KEK provider conformance: ${label}`, () => {
    /** A DEK wrapped by the version the rotation test rotated away from: the retirement test retires that version. */
    let rotatedFrom: GeneratedKey | undefined;

    it("wraps and unwraps: a generated DEK is 32 bytes, its reference is the current one, another instance unwraps it", async () => {
      const s = subject();
      const kek = await s.open();
      const other = await s.open();
      try {
        const current = await kek.current();
        expect(current.provider).toBe(kek.name);
        const gen = await kek.generateDataKey(ctx);
        expect(gen.dek).toHaveLength(32);
        expect(gen.ref).toEqual(current);
        expect(gen.wrapped.equals(gen.dek)).toBe(false);
        expect((await kek.unwrap(gen.ref, gen.wrapped, ctx)).equals(gen.dek)).toBe(true);
        expect((await other.unwrap(gen.ref, gen.wrapped, ctx)).equals(gen.dek)).toBe(true);
        // wrap (the rewrap path) of an existing DEK, and two wraps of one DEK differ (fresh IV or KMS envelope).
        const again = await kek.wrap(gen.dek, ctx);
        expect(again.ref).toEqual(current);
        expect(again.wrapped.equals(gen.wrapped)).toBe(false);
        expect((await other.unwrap(again.ref, again.wrapped, ctx)).equals(gen.dek)).toBe(true);
      } finally {
        await other.close();
        await kek.close();
      }
    });

    it("binds the key context: another subject, an added or a missing entry fails with the one DecryptionFailed", async () => {
      const kek = await subject().open();
      try {
        const gen = await kek.generateDataKey(subjectCtx("u1"));
        expect((await kek.unwrap(gen.ref, gen.wrapped, subjectCtx("u1"))).equals(gen.dek)).toBe(true);
        await expectRejected(kek.unwrap(gen.ref, gen.wrapped, subjectCtx("u2")));
        await expectRejected(kek.unwrap(gen.ref, gen.wrapped, { ...subjectCtx("u1"), extra: "x" }));
        await expectRejected(kek.unwrap(gen.ref, gen.wrapped, { "rampart:purpose": "subject-dek" }));
        await expectRejected(kek.unwrap(gen.ref, gen.wrapped, {}));
      } finally {
        await kek.close();
      }
    });

    it("a tampered wrapped key, or a reference to another provider, key or version, fails with the same error", async () => {
      const s = subject();
      const kek = await s.open();
      try {
        const gen = await kek.generateDataKey(ctx);
        for (const bad of (s.tamper ?? defaultTamperings)(gen.wrapped)) await expectRejected(kek.unwrap(gen.ref, bad, ctx));
        await expectRejected(kek.unwrap({ ...gen.ref, provider: kek.name === "local" ? "pkcs11" : "local" }, gen.wrapped, ctx));
        await expectRejected(kek.unwrap({ ...gen.ref, keyId: `${gen.ref.keyId}-other` }, gen.wrapped, ctx));
        await expectRejected(kek.unwrap({ ...gen.ref, version: gen.ref.version + 100 }, gen.wrapped, ctx));
        // Nothing above disturbed the key: the genuine wrap still unwraps.
        expect((await kek.unwrap(gen.ref, gen.wrapped, ctx)).equals(gen.dek)).toBe(true);
      } finally {
        await kek.close();
      }
    });

    it("a keyring on the provider encrypts, decrypts, keeps per-subject keys and answers its readiness probe", async () => {
      const s = subject();
      const kek = await s.open();
      const secrets = new MemorySecrets({ "blind-index-key": randomKeySecret() });
      const keyring = await createKeyring({ ...s.keyring, secrets, kek });
      try {
        await expect(keyring.ping()).resolves.toBeUndefined();
        const row = { table: "notes", column: "body", id: "7" };
        const ct = await keyring.encrypt("conformance", row);
        expect(await keyring.decryptString(ct, row)).toBe("conformance");
        await expect(keyring.decrypt(ct, { ...row, id: "8" })).rejects.toBeInstanceOf(DecryptionFailed);
        const personal = await keyring.encryptFor("user-conf", "mine", row);
        expect(await keyring.decryptStringFor("user-conf", personal, row)).toBe("mine");
        expect(keyring.kekStats().provider).toBe(kek.name);
      } finally {
        await keyring.close();
        await kek.close();
      }
    });

    it("rotates: new wraps use the version rotate returns, and a DEK wrapped before still unwraps on any instance", async () => {
      const s = subject();
      const kek = await s.open();
      try {
        const before = await kek.current();
        const old = await kek.generateDataKey(ctx);
        rotatedFrom = old;
        const rotated = await kek.rotate();
        expect(rotated.provider).toBe(kek.name);
        if (s.versioning === "numbered") expect(rotated).toEqual({ ...before, version: before.version + 1 });
        else expect(rotated).toEqual(before);
        expect(await kek.current()).toEqual(rotated);
        const fresh = await s.open();
        try {
          expect(await fresh.current()).toEqual(rotated);
          const next = await fresh.generateDataKey(ctx);
          expect(next.ref).toEqual(rotated);
          expect((await fresh.unwrap(old.ref, old.wrapped, ctx)).equals(old.dek)).toBe(true);
          expect((await kek.unwrap(next.ref, next.wrapped, ctx)).equals(next.dek)).toBe(true);
        } finally {
          await fresh.close();
        }
        const versions = await kek.versions();
        expect(versions.at(-1)).toMatchObject({ ref: rotated, state: "active" });
        const numbers = versions.map((v) => v.ref.version);
        expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
        if (s.versioning === "numbered") expect(versions.find((v) => v.ref.version === before.version)).toMatchObject({ ref: before, state: "active" });
      } finally {
        await kek.close();
      }
    });

    it("retires a version: its wraps no longer unwrap, it is listed retired, the current one keeps working", async () => {
      const s = subject();
      const kek = await s.open();
      try {
        const current = await kek.current();
        const live = await kek.generateDataKey(ctx);
        if (s.versioning === "internal") {
          // The KMS keeps every version of its key material: retiring is a notice to the operator, and nothing breaks.
          await kek.retire(current);
          expect((await kek.unwrap(live.ref, live.wrapped, ctx)).equals(live.dek)).toBe(true);
          return;
        }
        if (!rotatedFrom) throw new Error("the rotation test runs first");
        const old = rotatedFrom;
        expect(old.ref.version).toBeLessThan(current.version);
        expect((await kek.unwrap(old.ref, old.wrapped, ctx)).equals(old.dek)).toBe(true);
        await kek.retire(old.ref);
        expect((await kek.versions()).find((v) => v.ref.version === old.ref.version)?.state).toBe("retired");
        await expectRejected(kek.unwrap(old.ref, old.wrapped, ctx));
        const fresh = await s.open();
        try {
          await expectRejected(fresh.unwrap(old.ref, old.wrapped, ctx));
          expect((await fresh.unwrap(live.ref, live.wrapped, ctx)).equals(live.dek)).toBe(true);
        } finally {
          await fresh.close();
        }
        expect(await kek.current()).toEqual(current);
      } finally {
        await kek.close();
      }
    });

    it("close releases the instance only: a new instance unwraps what the closed one wrapped", async () => {
      const s = subject();
      const kek = await s.open();
      const gen = await kek.generateDataKey(ctx);
      await kek.close();
      const again = await s.open();
      try {
        expect((await again.unwrap(gen.ref, gen.wrapped, ctx)).equals(gen.dek)).toBe(true);
      } finally {
        await again.close();
      }
    });
  });
}
