/**
 * A counting semaphore with a bounded FIFO queue: at most `max` tasks run at
 * once, up to `maxQueue` more wait their turn, and any beyond that are refused
 * at once (load shedding) instead of growing memory and latency without bound.
 * A finishing task hands its slot straight to the next waiter, so a burst
 * cannot starve queued callers.
 */

/** Thrown by {@link Semaphore.run} when the queue is full. */
export class QueueFullError extends Error {
  override readonly name = "QueueFullError";
  constructor(readonly maxQueue: number) {
    super(`queue full (${maxQueue} waiting)`);
  }
}

export class Semaphore {
  private running = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(
    readonly max: number,
    readonly maxQueue: number,
  ) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`max must be an integer ≥ 1, instead got ${max}`);
    if (!Number.isSafeInteger(maxQueue) || maxQueue < 0) throw new RangeError(`maxQueue must be an integer ≥ 0, instead got ${maxQueue}`);
  }

  /** Tasks running now. */
  get active(): number {
    return this.running;
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waiters.length;
  }

  /** Runs `task` when a slot is free. Rejects with {@link QueueFullError} when the queue is full. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.max) {
      this.running++;
    } else {
      if (this.waiters.length >= this.maxQueue) throw new QueueFullError(this.maxQueue);
      // The slot is handed over by release(); `running` is unchanged.
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.running--;
  }
}
