/**
 * One-time use of TOTP codes. RFC 6238 §5.2: "the verifier MUST NOT accept
 * the second attempt of the OTP after the successful validation has been
 * issued for the first OTP". The store records used time steps per user in
 * the kv store (shared by every instance), so a code replayed sequentially,
 * concurrently or in another MFA challenge fails.
 *
 * Semantics (stronger than "each step once"): a step is accepted only when it
 * is later than every step accepted before for that user. With ±w steps of
 * drift, a code for step s-1 typed after the code for step s would otherwise
 * still be valid; here it is refused.
 *
 * How it stays atomic with only SET NX (no compare-and-set on a maximum):
 * markUsed(s) first claims s-2w-1..s-1 (SET NX, result ignored: it only
 * blocks them), then claims s itself (SET NX, the result is the answer). Any
 * earlier step a that could still be accepted later satisfies a ≥ s-2w (one
 * more step covers instances whose clocks differ by under a period), so it is
 * blocked before s is granted; and if a was granted first, its grant happened
 * before this call's claim of a, hence before the grant of s. So the granted
 * steps of a user are strictly increasing in grant order, under any
 * interleaving, on the memory store and on Redis alike.
 */
import type { KvStore } from "../../kv/index.js";
import { TOTP_PERIOD_SECONDS, TOTP_WINDOW, verifyTotp, type TotpMatch, type VerifyTotpInput } from "./totp.js";

/** Records which TOTP time steps a user has spent. */
export interface UsedStepStore {
  /**
   * Atomically claims `step` for `userId`. Resolves true exactly when the step
   * is accepted: no caller claimed this step, or a later one, for this user
   * before (of N concurrent calls with the same step, exactly one gets true).
   */
  markUsed(userId: string, step: number): Promise<boolean>;
}

export interface KvUsedStepStoreOptions {
  /** Key prefix inside the kv namespace. Default `totp:used:`. */
  keyPrefix?: string;
  /** Drift window the verifier uses; default TOTP_WINDOW. */
  window?: number;
  /** Step length in seconds; default TOTP_PERIOD_SECONDS. */
  periodSeconds?: number;
}

/** A UsedStepStore over the kv store (`set(key, value, { ifAbsent, ttlMs })`). */
export function createKvUsedStepStore(kv: KvStore, options: KvUsedStepStoreOptions = {}): UsedStepStore {
  const prefix = options.keyPrefix ?? "totp:used:";
  const window = options.window ?? TOTP_WINDOW;
  const period = options.periodSeconds ?? TOTP_PERIOD_SECONDS;
  // A claim must outlive the last moment its step can verify: step s is valid
  // until the end of step s+w, at most (2w+1) periods after a verification
  // at step s-w; one more period covers clock skew between instances.
  const ttlMs = (2 * window + 2) * period * 1000;
  // userId may contain ":"; the step is the digits after the last one, so keys never collide.
  const key = (userId: string, step: number) => `${prefix}${userId}:${step}`;

  return {
    async markUsed(userId, step) {
      if (!Number.isSafeInteger(step) || step < 0) throw new RangeError(`step must be a non-negative integer, instead got ${step}`);
      const blocks: Promise<boolean>[] = [];
      for (let earlier = Math.max(0, step - 2 * window - 1); earlier < step; earlier++) blocks.push(kv.set(key(userId, earlier), "0", { ifAbsent: true, ttlMs }));
      // Every block must be in place before the step itself is granted.
      await Promise.all(blocks);
      return kv.set(key(userId, step), "1", { ifAbsent: true, ttlMs });
    },
  };
}

export interface VerifyTotpOnceInput extends VerifyTotpInput {
  userId: string;
  usedSteps: UsedStepStore;
}

/**
 * verifyTotp() plus the one-time rule: ok only when the code matches a step
 * within the window AND that step is claimed for the user by this call.
 */
export async function verifyTotpOnce(input: VerifyTotpOnceInput): Promise<TotpMatch> {
  const match = verifyTotp(input);
  if (!match.ok) return match;
  return (await input.usedSteps.markUsed(input.userId, match.step)) ? match : { ok: false };
}
