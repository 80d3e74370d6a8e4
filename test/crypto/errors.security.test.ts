/**
 * Threat: a decryption oracle. If a caller, a log line or an HTTP response
 * could tell a tampered byte from a wrong context, a wrong key, an unknown
 * version, a truncated message or a shredded subject, an attacker probing
 * stored ciphertexts would learn which check failed (STYLE §6). Every one of
 * them must be the same class, with the same message and no cause attached.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DecryptionFailed } from "../../src/crypto/index.js";
import { keyringHarness, type KeyringHarness } from "./helpers.js";

let a: KeyringHarness;
let b: KeyringHarness;
beforeAll(async () => {
  a = await keyringHarness("embedded");
  b = await keyringHarness("embedded");
});
afterAll(async () => {
  await a.done();
  await b.done();
});

const ctx = { table: "users", column: "email", id: "1" };

describe("one failure for every rejected ciphertext", () => {
  it("tampered, wrong context, wrong key, unknown version, truncated, shredded, garbage: identical errors", async () => {
    const k = a.keyring;
    const ct = await k.encrypt("alice@example.com", ctx);
    const bytes = Buffer.from(ct.slice(4), "base64url");
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 1]! ^= 1;
    const unknownVersion = Buffer.from(bytes);
    // KEK version field: after version, suite, flags, provider (1+5), key id (2+7).
    unknownVersion.writeUInt32BE(7, 3 + 6 + 9);
    const subjectCt = await k.encryptFor("gone", "x", ctx);
    await k.shred("gone");

    const attempts: [string, () => Promise<unknown>][] = [
      ["tampered byte", () => k.decrypt(tampered, ctx)],
      ["wrong context", () => k.decrypt(ct, { ...ctx, id: "2" })],
      ["wrong key (another deployment's KEK)", () => b.keyring.decrypt(ct, ctx)],
      ["unknown KEK version", () => k.decrypt(unknownVersion, ctx)],
      ["unknown format version", () => k.decrypt(`rp9:${ct.slice(4)}`, ctx)],
      ["truncated", () => k.decrypt(bytes.subarray(0, 40), ctx)],
      ["shredded subject", () => k.decrypt(subjectCt, ctx)],
      ["not a ciphertext", () => k.decrypt("hello", ctx)],
      ["empty", () => k.decrypt("", ctx)],
    ];
    for (const [what, p] of attempts) {
      const err = await p().then(
        () => new Error(`${what}: decrypted`),
        (e: unknown) => e as Error,
      );
      expect(err, what).toBeInstanceOf(DecryptionFailed);
      expect(err.message, what).toBe("decryption failed");
      expect(err.cause, what).toBeUndefined();
      expect(Object.keys(err), what).toEqual(["name"]);
    }
  });
});
