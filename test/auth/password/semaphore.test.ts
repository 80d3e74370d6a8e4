import { describe, expect, it } from "vitest";
import { QueueFullError, Semaphore } from "../../../src/auth/password/semaphore.js";

/** A task the test finishes by hand, counting how many run at once. */
function harness() {
  let running = 0;
  let peak = 0;
  const finishers: (() => void)[] = [];
  const order: number[] = [];
  const task = (id: number) => () =>
    new Promise<number>((resolve) => {
      running++;
      peak = Math.max(peak, running);
      order.push(id);
      finishers.push(() => {
        running--;
        resolve(id);
      });
    });
  return { task, finishers, order, peak: () => peak, running: () => running };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("semaphore", () => {
  it("runs at most `max` tasks at once, in FIFO order, handing slots over as tasks finish", async () => {
    const h = harness();
    const sem = new Semaphore(2, 10);
    const results = Array.from({ length: 6 }, (_, i) => sem.run(h.task(i)));
    await tick();
    expect(h.running()).toBe(2);
    expect(sem.active).toBe(2);
    expect(sem.queued).toBe(4);
    while (h.finishers.length > 0) {
      h.finishers.shift()?.();
      await tick();
      expect(h.running()).toBeLessThanOrEqual(2);
    }
    expect(await Promise.all(results)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(h.order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(h.peak()).toBe(2);
    expect(sem.active).toBe(0);
  });

  it("refuses beyond the queue bound and frees slots of failed tasks", async () => {
    const h = harness();
    const sem = new Semaphore(1, 1);
    const first = sem.run(h.task(1));
    const second = sem.run(h.task(2));
    await expect(sem.run(h.task(3))).rejects.toBeInstanceOf(QueueFullError);
    await tick();
    h.finishers.shift()?.();
    await tick();
    h.finishers.shift()?.();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    await expect(sem.run(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(sem.active).toBe(0);
    expect(await sem.run(async () => "after")).toBe("after");
  });

  it("names the bad option and value", () => {
    expect(() => new Semaphore(0, 1)).toThrow("max must be an integer ≥ 1, instead got 0");
    expect(() => new Semaphore(1, -1)).toThrow("maxQueue must be an integer ≥ 0, instead got -1");
  });
});
