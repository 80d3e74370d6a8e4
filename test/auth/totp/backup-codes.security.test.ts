/**
 * Threat: backup code reuse. A recovery code that leaked (printed sheet,
 * screenshot, a phishing proxy) must work once: after use it is gone, and a
 * regenerated set invalidates every earlier code. Also: codes at rest are
 * hashes only, so a database dump does not hand them out.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateBackupCodes, useBackupCode } from "../../../src/auth/totp/index.js";

describe("backup codes are single-use", () => {
  it("a code works once; the second use of the same code fails", () => {
    const set = generateBackupCodes();
    let stored = [...set.hashes];
    const code = set.codes[3] as string;
    const first = useBackupCode(code, stored);
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(first.usedHash).toBe(createHash("sha256").update(code.replace(/-/g, "")).digest("hex"));
    expect(first.remaining).toHaveLength(9);
    stored = [...first.remaining];
    expect(useBackupCode(code, stored)).toEqual({ ok: false });
    // Typed differently, still the same code: still refused.
    expect(useBackupCode(code.toUpperCase().replace(/-/g, " "), stored)).toEqual({ ok: false });
    // The other nine still work, each once.
    for (const other of set.codes.filter((c) => c !== code)) {
      const r = useBackupCode(other, stored);
      expect(r.ok).toBe(true);
      if (r.ok) stored = [...r.remaining];
    }
    expect(stored).toEqual([]);
  });

  it("after regeneration, no code of the previous set works", () => {
    const old = generateBackupCodes();
    const fresh = generateBackupCodes();
    for (const code of old.codes) expect(useBackupCode(code, fresh.hashes).ok).toBe(false);
  });

  it("the stored form contains no code in clear", () => {
    const set = generateBackupCodes();
    const dump = JSON.stringify(set.hashes);
    for (const code of set.codes) {
      expect(dump).not.toContain(code);
      expect(dump).not.toContain(code.replace(/-/g, ""));
    }
  });
});
