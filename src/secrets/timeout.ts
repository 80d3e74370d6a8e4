/**
 * Runs one provider call under a deadline. The call gets an AbortSignal to
 * stop its I/O; a provider that ignores it is still abandoned at the deadline,
 * so a hung backend can never hang `secrets.get`.
 */
import { ProviderError } from "./errors.js";

export async function withTimeout<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new ProviderError(`timed out after ${ms} ms`);
      controller.abort(err);
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([fn(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
