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
import { FLOOR, hasherWith } from "./helpers.js";

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
  it("dummyVerify's fastest argon2 time is within 25% of verify's (30 interleaved runs each)", async () => {
    // The hashing thread's own computing time of each call (the hasher's observations): what an
    // attacker's timing measures once the queue is empty, without the event loops' scheduling noise.
    const computed: { op: string; ms: number }[] = [];
    const hasher = hasherWith(FLOOR, { maxConcurrency: 1, observe: (o) => computed.push({ op: o.op, ms: o.durationMs }) });
    const phc = await hasher.hash("the real user's password");
    await hasher.dummyVerify("warm up");
    computed.length = 0;
    // The order alternates within each pair, so whatever the first call of a pair pays falls on both sides.
    for (let i = 0; i < 30; i++) {
      const guess = `a wrong guess ${i}`;
      const calls = [() => hasher.verify(phc, guess), () => hasher.dummyVerify(guess)];
      for (const call of i % 2 === 0 ? calls : calls.reverse()) expect(await call()).toEqual({ ok: false, needsRehash: false });
    }
    const real = computed.filter((c) => c.op === "verify").map((c) => c.ms);
    const dummy = computed.filter((c) => c.op === "dummy").map((c) => c.ms);
    expect([real.length, dummy.length]).toEqual([30, 30]);
    // The fastest of each: other work on the machine only ever adds time, so the minimum is the
    // computation's own cost, where a median under load drifts by a third between two runs.
    const ratio = Math.min(...dummy) / Math.min(...real);
    expect(ratio).toBeGreaterThan(0.75);
    expect(ratio).toBeLessThan(1.25);
  });

  it("dummyVerify never succeeds, not even with the empty password or a known one", async () => {
    const hasher = hasherWith(FLOOR);
    for (const pw of ["", "password", "the real user's password"]) expect(await hasher.dummyVerify(pw)).toEqual({ ok: false, needsRehash: false });
  });
});
