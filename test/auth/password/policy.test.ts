import { afterAll, describe, expect, it } from "vitest";
import { createInlineStrengthEstimator, createPasswordPolicy, createWorkerStrengthEstimator, type StrengthEstimator } from "../../../src/auth/password/index.js";
import { isRampartError } from "../../../src/errors/index.js";

// One in-process estimator for most tests: loading the dictionaries takes a few hundred ms.
const shared = createInlineStrengthEstimator();
const estimators: StrengthEstimator[] = [];
afterAll(async () => {
  for (const e of estimators) await e.close();
});

function policy(minLength = 12, estimator: StrengthEstimator = shared) {
  estimators.push(estimator);
  return createPasswordPolicy({ passwordMinLength: minLength }, { estimator });
}

describe("password policy", () => {
  it("accepts long, unguessable passwords and returns their NFKC form", async () => {
    const p = policy();
    for (const pw of ["correct horse battery staple", "Tr0ub4dor&3 xylophone", "x7$Kp2!vQm9#Lz", "Grüße aus Köln, 2 Äpfel & 3 Birnen"]) {
      const r = await p.check(pw);
      expect(r.ok, pw).toBe(true);
      if (r.ok) expect(r.normalized).toBe(pw.normalize("NFKC"));
    }
  });

  it("refuses passwords shorter than PASSWORD_MIN_LENGTH code points", async () => {
    const p = policy(12);
    expect(await p.check("zQ7#kd9!vX2")).toEqual({ ok: false, reason: "too_short", message: "Password must be at least 12 characters." });
    expect((await p.check("zQ7#kd9!vX2m")).ok).toBe(true);
    // Eleven emoji are 22 UTF-16 units but 11 characters.
    expect((await p.check("🦊🐙🦉🐝🦔🐢🦜🐳🦩🐌🦂")).ok).toBe(false);
    expect(policy(16).minLength).toBe(16);
  });

  it("refuses entries of the shipped common-password list whatever their case", async () => {
    const p = policy();
    for (const pw of ["1qaz2wsx3edc", "QWERTY123456", "Password1234", "LeaveMeAlone"]) {
      expect(await p.check(pw), pw).toMatchObject({ ok: false, reason: "common" });
    }
  });

  it("refuses weak passwords by the zxcvbn estimate (repeats, keyboard walks, l33t words)", async () => {
    const p = policy();
    for (const pw of ["aaaaaaaaaaaaaaaa", "abcabcabcabcabc", "zxcvbnmasdfghjkl", "P@ssw0rd12345", "monkeymonkeymonkey", "johnsmith1985", "baseball2024!"]) {
      expect(await p.check(pw), pw).toMatchObject({ ok: false, reason: "weak" });
    }
  });

  it("counts the user's own email and name against the password", async () => {
    const p = policy();
    const pw = "margaret.hamilton1969";
    expect((await p.check(pw)).ok).toBe(true);
    expect(await p.check(pw, { userInputs: ["margaret.hamilton@example.com"] })).toMatchObject({ ok: false, reason: "weak" });
  });

  it("refuses lone surrogates (they would hash like U+FFFD)", async () => {
    expect(await policy().check("valid prefix \ud800 and more words")).toMatchObject({ ok: false, reason: "encoding" });
  });

  it("assertAcceptable throws VALIDATION_FAILED with the field path and message", async () => {
    const p = policy();
    await expect(p.assertAcceptable("correct horse battery staple")).resolves.toBe("correct horse battery staple");
    const err: unknown = await p.assertAcceptable("short").catch((e: unknown) => e);
    expect(isRampartError(err)).toBe(true);
    if (!isRampartError(err)) return;
    expect(err.code).toBe("VALIDATION_FAILED");
    expect(err.status).toBe(400);
    expect(err.details).toEqual({ fields: [{ path: "body.password", message: "Password must be at least 12 characters." }] });
    const other: unknown = await p.assertAcceptable("1qaz2wsx3edc", { path: "body.newPassword" }).catch((e: unknown) => e);
    expect(isRampartError(other) ? other.details : undefined).toEqual({ fields: [{ path: "body.newPassword", message: expect.stringContaining("common") as unknown }] });
  });

  it("the worker-thread estimator gives the inline estimator's scores", async () => {
    const inline = createInlineStrengthEstimator();
    const worker = createWorkerStrengthEstimator();
    estimators.push(inline, worker);
    const samples = ["correct horse battery staple", "P@ssw0rd12345", "aaaaaaaaaaaa", "x7$Kp2!vQm9#Lz", "margaret.hamilton1969"];
    const a = await Promise.all(samples.map((s) => inline.estimate(s, ["margaret"])));
    const b = await Promise.all(samples.map((s) => worker.estimate(s, ["margaret"])));
    expect(b).toEqual(a);
  });

  it("bounds the estimate's work on long hostile input", async () => {
    const p = policy();
    await p.check("warm up the dictionaries");
    const t = performance.now();
    await p.check("4@3$1!0|".repeat(16));
    // Unbounded, zxcvbn spends over a second on this input on this machine.
    expect(performance.now() - t).toBeLessThan(1_000);
  });

  it("fails closed: an estimate that times out or fails rejects the check, never accepts", async () => {
    const worker = createWorkerStrengthEstimator({ timeoutMs: 1 });
    estimators.push(worker);
    // 1 ms is too short for the worker to even load its dictionaries.
    await expect(worker.estimate("correct horse battery staple", [])).rejects.toThrow(/timed out/);
    const broken: StrengthEstimator = { estimate: () => Promise.reject(new Error("estimator down")), close: async () => undefined };
    await expect(policy(12, broken).check("correct horse battery staple")).rejects.toThrow("estimator down");
  });
});
