/**
 * Threats: (1) silent truncation — a hasher that keeps only the first N bytes
 * (bcrypt's 72) lets an attacker log in with a prefix and makes long
 * passphrases weaker than they look; (2) Unicode ambiguity — the same password
 * typed on another keyboard or input method must still match (NFKC), and
 * must not be refused for it; (3) account enumeration by timing — an unknown
 * email must cost what a known one costs (DESIGN.md: dummy verify).
 */
import { afterAll, describe, expect, it } from "vitest";
import { createInlineStrengthEstimator, createPasswordPolicy } from "../../../src/auth/password/index.js";
import { isRampartError } from "../../../src/errors/index.js";
import { FLOOR, hasherWith, median } from "./helpers.js";

const estimator = createInlineStrengthEstimator();
afterAll(() => estimator.close());
const policy = createPasswordPolicy({ passwordMinLength: 12 }, { estimator });

// 128 characters with no structure zxcvbn could exploit.
const BASE = Array.from({ length: 128 }, (_, i) => "QwErTyUiOpAsDfGhJkLzXcVbNm0123456789!#%&"[(i * 7 + 3) % 40]).join("");

describe("passwords are never truncated", () => {
  it("a 129-character password is refused by the policy and by hash(), not cut to 128", async () => {
    const long = `${BASE}x`;
    expect([...long]).toHaveLength(129);
    expect(await policy.check(long)).toMatchObject({ ok: false, reason: "too_long" });
    const err: unknown = await hasherWith(FLOOR)
      .hash(long)
      .catch((e: unknown) => e);
    expect(isRampartError(err) && err.code === "VALIDATION_FAILED").toBe(true);
    expect((await policy.check(BASE)).ok).toBe(true);
  });

  it("two passwords differing only at character 100 (or 128) do not verify against each other", async () => {
    const hasher = hasherWith(FLOOR);
    const at = (i: number, c: string) => BASE.slice(0, i - 1) + c + BASE.slice(i);
    const a = at(100, "A");
    const b = at(100, "B");
    const c = at(128, "C");
    expect(a).toHaveLength(128);
    const hashA = await hasher.hash(a);
    expect((await hasher.verify(hashA, a)).ok).toBe(true);
    expect((await hasher.verify(hashA, b)).ok).toBe(false);
    const hashC = await hasher.hash(c);
    expect((await hasher.verify(hashC, at(128, "D"))).ok).toBe(false);
    // And a prefix never verifies.
    expect((await hasher.verify(hashA, a.slice(0, 72))).ok).toBe(false);
  });

  it("128 emoji are 128 characters (256 UTF-16 units) and accepted whole", async () => {
    const emoji = Array.from({ length: 128 }, (_, i) => String.fromCodePoint(0x1f400 + ((i * 13) % 200))).join("");
    expect(emoji.length).toBe(256);
    const hasher = hasherWith(FLOOR);
    const phc = await hasher.hash(emoji);
    expect((await hasher.verify(phc, emoji)).ok).toBe(true);
    expect((await hasher.verify(phc, emoji.slice(0, 254))).ok).toBe(false);
  });
});

describe("NFKC normalization", () => {
  it("full-width, ligature and decomposed forms verify against the hash of the plain form", async () => {
    const hasher = hasherWith(FLOOR);
    const phc = await hasher.hash("Café fiancé 2024 Straße");
    // U+FF21.. full-width letters, U+FB01 "ﬁ" ligature, "e" + U+0301 combining acute.
    for (const variant of ["Caf\u00e9 \ufb01anc\u00e9 2024 Straße", "Cafe\u0301 fiance\u0301 2024 Straße", "\uff23\uff41\uff46\u00e9 fiancé \uff12\uff10\uff12\uff14 Straße"]) {
      expect(variant).not.toBe("Café fiancé 2024 Straße");
      expect((await hasher.verify(phc, variant)).ok, variant).toBe(true);
    }
    expect((await hasher.verify(phc, "Cafe fiance 2024 Straße")).ok).toBe(false);
  });

  it("length is counted after NFKC: six ﬃ ligatures are 18 characters", async () => {
    const sixLigatures = "\ufb03".repeat(6);
    const r = await createPasswordPolicy({ passwordMinLength: 18 }, { estimator }).check(sixLigatures);
    expect(r.ok ? "accepted" : r.reason).not.toBe("too_short");
  });
});

describe("unknown users cost what known users cost", () => {
  it("dummyVerify's median time is within 25% of verify's (30 interleaved runs each)", async () => {
    const hasher = hasherWith(FLOOR, { maxConcurrency: 1 });
    const phc = await hasher.hash("the real user's password");
    await hasher.dummyVerify("warm up");
    const real: number[] = [];
    const dummy: number[] = [];
    for (let i = 0; i < 30; i++) {
      let t = performance.now();
      await hasher.verify(phc, `a wrong guess ${i}`);
      real.push(performance.now() - t);
      t = performance.now();
      const r = await hasher.dummyVerify(`a wrong guess ${i}`);
      dummy.push(performance.now() - t);
      expect(r).toEqual({ ok: false, needsRehash: false });
    }
    const ratio = median(dummy) / median(real);
    expect(ratio).toBeGreaterThan(0.75);
    expect(ratio).toBeLessThan(1.25);
  });

  it("dummyVerify never succeeds, not even with the empty password or a known one", async () => {
    const hasher = hasherWith(FLOOR);
    for (const pw of ["", "password", "the real user's password"]) expect(await hasher.dummyVerify(pw)).toEqual({ ok: false, needsRehash: false });
  });
});
