/** Small helpers for tests that wait on real time and on calls expected to fail. */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The rejection of `p`; fails the test when `p` resolves instead. */
export async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (err: unknown) => err as Error,
  );
}

/**
 * Calls `fn` every 100 ms until `ok` accepts its value or `timeoutMs` passes,
 * and returns the last value either way (the test's assertion on it then says
 * what was seen, not only that time ran out).
 */
export async function pollUntil<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T;
  do {
    last = await fn();
    if (ok(last)) return last;
    await sleep(100);
  } while (Date.now() < end);
  return last;
}
