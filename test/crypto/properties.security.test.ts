/**
 * Threat: an attacker who can read and write stored ciphertexts (a database
 * dump, a compromised replica, a malicious insider) modifies them — any byte,
 * in the header, the wrapped key, the commitment or the payload — or moves
 * them to another row, column or tenant, hoping for a plaintext, a different
 * plaintext, or an error that tells the failures apart. Every such attempt must
 * end in the same DecryptionFailed, and honest round trips must never fail.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DecryptionFailed, type EncryptionContext } from "../../src/crypto/index.js";
import { useKeyringHarness } from "./helpers.js";

const k = useKeyringHarness();

async function expectRejected(p: Promise<unknown>): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DecryptionFailed);
  expect((err as Error).message).toBe("decryption failed");
}

const context: EncryptionContext = { table: "users", column: "email", id: "7" };

describe("tampering", () => {
  it("every single-byte change anywhere in a shared-key ciphertext fails (exhaustive, two flips per byte)", async () => {
    const ct = await k.keyring.encryptToBuffer("alice@example.com", context);
    for (let i = 0; i < ct.length; i++) {
      for (const flip of [0x01, 0x80]) {
        const bad = Buffer.from(ct);
        bad[i] = bad[i]! ^ flip;
        await expectRejected(k.keyring.decrypt(bad, context));
      }
    }
  });

  it("every single-byte change anywhere in a subject-key ciphertext fails (exhaustive)", async () => {
    const text = await k.keyring.encryptFor("user-1", "+33 6 12 34 56 78", context);
    const ct = Buffer.from(text.slice(4), "base64url");
    for (let i = 0; i < ct.length; i++) {
      const bad = Buffer.from(ct);
      bad[i] = bad[i]! ^ 0x01;
      await expectRejected(k.keyring.decryptFor("user-1", bad, context));
      await expectRejected(k.keyring.decrypt(bad, context));
    }
  });

  it("property: any single-byte change to any payload's ciphertext fails", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), fc.nat(), fc.integer({ min: 1, max: 255 }), async (pt, pos, xor) => {
        const ct = await k.keyring.encryptToBuffer(pt, context);
        const bad = Buffer.from(ct);
        const i = pos % bad.length;
        bad[i] = bad[i]! ^ xor;
        await expectRejected(k.keyring.decrypt(bad, context));
      }),
      { numRuns: 300 },
    );
  });

  it("property: any single-character change to the rp1: text form fails", async () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=.!~ ";
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 64 }), fc.nat(), fc.nat({ max: alphabet.length - 1 }), async (pt, pos, c) => {
        const text = await k.keyring.encrypt(pt, context);
        const i = pos % text.length;
        const replacement = alphabet[c]!;
        fc.pre(replacement !== text[i]);
        await expectRejected(k.keyring.decrypt(text.slice(0, i) + replacement + text.slice(i + 1), context));
      }),
      { numRuns: 300 },
    );
  });

  it("truncation at any length fails, and so does appended data", async () => {
    const ct = await k.keyring.encryptToBuffer("truncate me", context);
    for (let n = 0; n < ct.length; n++) await expectRejected(k.keyring.decrypt(ct.subarray(0, n), context));
    await expectRejected(k.keyring.decrypt(Buffer.concat([ct, Buffer.of(0)]), context));
  });

  it("an unknown format version or algorithm suite fails", async () => {
    const ct = await k.keyring.encryptToBuffer("v", context);
    for (const [i, v] of [[0, 2], [0, 0], [1, 2], [2, 0x04]] as const) {
      const bad = Buffer.from(ct);
      bad[i] = v;
      await expectRejected(k.keyring.decrypt(bad, context));
    }
    await expectRejected(k.keyring.decrypt("rp2:" + (await k.keyring.encrypt("v", context)).slice(4), context));
  });
});

describe("context binding", () => {
  const ctxArb = fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 4 });

  it("property: decrypting with any other context fails", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 32 }), ctxArb, ctxArb, async (pt, a, b) => {
        fc.pre(JSON.stringify(Object.entries(a).sort()) !== JSON.stringify(Object.entries(b).sort()));
        const ct = await k.keyring.encrypt(pt, a);
        await expectRejected(k.keyring.decrypt(ct, b));
      }),
      { numRuns: 200 },
    );
  });

  it("key order does not matter; the length prefix rules out join collisions", async () => {
    const ct = await k.keyring.encrypt("x", { a: "1", b: "2" });
    expect(await k.keyring.decryptString(ct, { b: "2", a: "1" })).toBe("x");
    const ct2 = await k.keyring.encrypt("x", { a: "b=c" });
    await expectRejected(k.keyring.decrypt(ct2, { "a=b": "c" }));
    await expectRejected(k.keyring.decrypt(ct2, { a: "b", "=c": "" }));
  });

  it("a subject's ciphertext does not open as another subject's", async () => {
    const ct = await k.keyring.encryptFor("user-a", "mine", context);
    await k.keyring.encryptFor("user-b", "theirs", context);
    await expectRejected(k.keyring.decryptFor("user-b", ct, context));
    await expectRejected(k.keyring.decryptFor("user-unknown", ct, context));
  });
});

describe("round trips", () => {
  it("property: any bytes, including empty", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (pt) => {
        const ct = await k.keyring.encryptToBuffer(pt, context);
        expect(Buffer.compare(await k.keyring.decrypt(ct, context), Buffer.from(pt))).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it("property: any Unicode string, through the text form and a subject key", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary", maxLength: 200 }), fc.string({ unit: "grapheme", maxLength: 50 }), async (s, g) => {
        expect(await k.keyring.decryptString(await k.keyring.encrypt(s, context), context)).toBe(s);
        expect(await k.keyring.decryptStringFor("user-u", await k.keyring.encryptFor("user-u", g, context), context)).toBe(g);
      }),
      { numRuns: 150 },
    );
  });

  it("1 MiB + 1 byte, single-message and framed", async () => {
    const big = Buffer.alloc(1024 * 1024 + 1);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
    expect((await k.keyring.decrypt(await k.keyring.encrypt(big, context), context)).equals(big)).toBe(true);
    const framed = await k.keyring.encryptLarge(big, context);
    expect((await k.keyring.decryptLarge(framed, context)).equals(big)).toBe(true);
    // decrypt() recognises a framed message too.
    expect((await k.keyring.decrypt(framed, context)).equals(big)).toBe(true);
  });

  it("the empty string and the empty context", async () => {
    expect(await k.keyring.decryptString(await k.keyring.encrypt("", {}), {})).toBe("");
  });
});
