import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { generateTotpSecret, normalizeTotpCode, totpStep, totpUri, verifyTotp } from "../../../src/auth/totp/index.js";

// RFC 6238 Appendix B: SHA-1 seed "12345678901234567890" (ASCII), 8-digit
// values. A 6-digit TOTP is the same truncated value mod 10^6 (RFC 4226 §5.3),
// i.e. the last six digits.
const RFC_SECRET = Buffer.from("12345678901234567890").toString("hex");
const RFC_VECTORS: [number, string][] = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"],
];

/** base32 (RFC 4648) of hex, computed by coreutils rather than by otpauth. */
function base32(hex: string): string {
  const r = spawnSync("base32", ["-w", "0"], { input: Buffer.from(hex, "hex") });
  return r.stdout.toString().replace(/=+$/, "");
}

function oathtool(secret: string, unixSeconds: number): string {
  const r = spawnSync("oathtool", ["--totp", "-b", secret, "-N", `@${unixSeconds}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`oathtool failed: ${r.stderr}`);
  return r.stdout.trim();
}

describe("TOTP (RFC 6238)", () => {
  it.each(RFC_VECTORS)("accepts the Appendix B SHA-1 value at T=%i and reports its time step", (t, eight) => {
    const secret = base32(RFC_SECRET);
    expect(secret).toBe("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    const code = eight.slice(-6);
    expect(verifyTotp({ secret, code, nowMs: t * 1000 })).toEqual({ ok: true, step: Math.floor(t / 30) });
  });

  it("accepts one step of drift either way and no more (RFC 6238 §5.2)", () => {
    const secret = base32(RFC_SECRET);
    const t = 1111111111; // step 37037037
    const code = "050471";
    const step = Math.floor(t / 30);
    expect(verifyTotp({ secret, code, nowMs: (t + 30) * 1000 })).toEqual({ ok: true, step });
    expect(verifyTotp({ secret, code, nowMs: (t - 30) * 1000 })).toEqual({ ok: true, step });
    expect(verifyTotp({ secret, code, nowMs: (t + 60) * 1000 }).ok).toBe(false);
    expect(verifyTotp({ secret, code, nowMs: (t - 60) * 1000 }).ok).toBe(false);
    expect(verifyTotp({ secret, code, nowMs: (t + 60) * 1000, window: 2 })).toEqual({ ok: true, step });
  });

  it("accepts codes computed by oathtool (OATH Toolkit) for fresh secrets at many times", () => {
    for (let i = 0; i < 5; i++) {
      const secret = generateTotpSecret();
      for (const t of [0, 59, 1_700_000_000, 1_700_000_029, 1_999_999_999 + i * 17]) {
        const code = oathtool(secret, t);
        expect(code).toMatch(/^\d{6}$/);
        expect(verifyTotp({ secret, code, nowMs: t * 1000 }), `${secret} @${t}`).toEqual({ ok: true, step: Math.floor(t / 30) });
        const step = Math.floor(t / 30);
        expect(verifyTotp({ secret, code, nowMs: (step + 1) * 30_000 + 29_999 }).ok).toBe(true);
        expect(verifyTotp({ secret, code, nowMs: (step + 2) * 30_000 }).ok).toBe(false);
      }
    }
  });

  it("refuses wrong codes, wrong secrets and anything that is not 6 digits", () => {
    const secret = generateTotpSecret();
    const t = 1_700_000_000;
    const code = oathtool(secret, t);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
    expect(verifyTotp({ secret, code: wrong, nowMs: t * 1000 }).ok).toBe(false);
    expect(verifyTotp({ secret: generateTotpSecret(), code, nowMs: t * 1000 }).ok).toBe(false);
    for (const bad of ["", "12345", "1234567", "12a456", "１２３４５６", `${code}0`]) expect(normalizeTotpCode(bad), bad).toBeNull();
    expect(normalizeTotpCode(` ${code.slice(0, 3)} ${code.slice(3)} `)).toBe(code);
    expect(verifyTotp({ secret, code: `${code.slice(0, 3)} ${code.slice(3)}`, nowMs: t * 1000 }).ok).toBe(true);
    // The valid code inside a longer or shorter input is still refused, with no step.
    for (const bad of [`${code}0`, code.slice(1), `${code.slice(0, 3)}x${code.slice(3)}`]) expect(verifyTotp({ secret, code: bad, nowMs: t * 1000 })).toEqual({ ok: false });
  });

  it("generates 160-bit base32 secrets", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const s = generateTotpSecret();
      expect(s).toMatch(/^[A-Z2-7]{32}$/);
      const r = spawnSync("base32", ["-d"], { input: `${s}` });
      expect(r.stdout).toHaveLength(20);
      seen.add(s);
    }
    expect(seen.size).toBe(50);
  });

  it("builds the otpauth:// URL of the Key Uri Format", () => {
    const secret = generateTotpSecret();
    const url = new URL(totpUri({ secret, issuer: "Rampart", accountName: "ada@example.com" }));
    expect(url.protocol).toBe("otpauth:");
    expect(url.host).toBe("totp");
    expect(decodeURIComponent(url.pathname)).toBe("/Rampart:ada@example.com");
    expect(Object.fromEntries(url.searchParams)).toEqual({ secret, issuer: "Rampart", algorithm: "SHA1", digits: "6", period: "30" });
  });

  it("numbers time steps from the Unix epoch in 30-second periods", () => {
    expect(totpStep(0)).toBe(0);
    expect(totpStep(29_999)).toBe(0);
    expect(totpStep(30_000)).toBe(1);
    expect(totpStep(59_000)).toBe(1);
  });
});
