/**
 * The worker-thread strength estimator's life cycle: closing it while
 * estimates are in flight rejects each of them (none is left hanging or
 * answered as acceptable), and the estimator starts a fresh worker on the
 * next estimate, whose scores match the inline estimator's.
 */
import { describe, expect, it } from "vitest";
import { createInlineStrengthEstimator, createWorkerStrengthEstimator } from "../../../src/auth/password/index.js";

describe("worker strength estimator life cycle", () => {
  it("close rejects the estimates in flight; the next estimate starts a new worker", async () => {
    const worker = createWorkerStrengthEstimator();
    const inline = createInlineStrengthEstimator();
    try {
      const inFlight = [worker.estimate("correct horse battery staple", []), worker.estimate("P@ssw0rd12345", ["margaret"])];
      const settled = Promise.allSettled(inFlight);
      await worker.close();
      const results = await settled;
      expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
      for (const r of results) expect(r.status === "rejected" && (r.reason as Error).message).toBe("password strength estimator closed");

      const again = await worker.estimate("margaret.hamilton1969", ["margaret"]);
      expect(again).toEqual(await inline.estimate("margaret.hamilton1969", ["margaret"]));
    } finally {
      await worker.close();
      await inline.close();
    }
  });

  it("after a timeout the next estimate runs on a new worker and fails on its own timeout, not on the old worker's exit", async () => {
    const worker = createWorkerStrengthEstimator({ timeoutMs: 1 });
    try {
      await expect(worker.estimate("correct horse battery staple", [])).rejects.toThrow("password strength estimate timed out after 1 ms");
      // The next call starts a new worker at once, while the old one is still being terminated: its exit
      // fails only what it held (nothing), so this one times out on its own clock, with the same message.
      await expect(worker.estimate("another long passphrase", [])).rejects.toThrow("timed out after 1 ms");
    } finally {
      await worker.close();
    }
  });
});
