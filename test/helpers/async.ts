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
