/**
 * The signing-key rotation policy as a pure function of the stored keys and
 * the time: what the lease holder must change now. Keeping it pure makes the
 * schedule testable without a database and identical on every instance.
 *
 * Life cycle: a successor is created `pending` a publish delay before the
 * active key reaches its rotation age, so it is in the JWKS before it signs;
 * from its `activatesAt` every instance signs with it (see key-ring.ts, which
 * chooses by time, not by the row's state, so instances switch together); the
 * row flip to `active` and the predecessor's `retired` follow at the next
 * check, dated back to `activatesAt`. A retired key stays published for the
 * token lifetime plus skew (RFC 7517 §5: verifiers select keys by `kid`).
 */
import { retiredWindowMs } from "./settings.js";
import type { SigningKeyRecord } from "./key-store.js";
import type { AccessTokenSettings } from "./types.js";

export type RotationAction =
  /** Generate and store a key. */
  | { readonly type: "create"; readonly state: "active" | "pending"; readonly activatesAt: number }
  /** Make a pending key active at `at`, retiring the active one until `publishUntil`. */
  | { readonly type: "promote"; readonly kid: string; readonly at: number; readonly publishUntil: number }
  /** Delete retired keys whose window has ended. */
  | { readonly type: "purge" };

type Policy = Pick<AccessTokenSettings, "rotationMs" | "publishDelayMs" | "ttlSeconds" | "clockSkewSeconds">;

/** Since when a stored key signs (or would sign). */
export function signsFrom(key: SigningKeyRecord): number {
  return key.activatedAt ?? key.activatesAt;
}

/** The actions that bring the stored keys in line with the policy at `now`; empty when nothing is due. */
export function planRotation(keys: readonly SigningKeyRecord[], now: number, policy: Policy): RotationAction[] {
  const actions: RotationAction[] = [];
  const window = retiredWindowMs(policy);
  if (keys.some((k) => k.state === "retired" && k.publishUntil !== null && k.publishUntil <= now)) actions.push({ type: "purge" });

  const active = keys.find((k) => k.state === "active");
  const pending = keys.filter((k) => k.state === "pending").sort((a, b) => a.activatesAt - b.activatesAt);
  if (!active && pending.length === 0) {
    // First start (or every key removed): nothing to pre-publish against, sign at once.
    actions.push({ type: "create", state: "active", activatesAt: now });
    return actions;
  }

  let signerSince = active ? signsFrom(active) : -Infinity;
  let remaining = pending;
  if (!active) {
    // No key signs: the earliest pending one must, even before its publish delay ends.
    const first = pending[0]!;
    const at = Math.min(now, first.activatesAt);
    actions.push({ type: "promote", kid: first.kid, at, publishUntil: at + window });
    signerSince = at;
    remaining = pending.slice(1);
  }
  for (const p of remaining.filter((k) => k.activatesAt <= now)) {
    actions.push({ type: "promote", kid: p.kid, at: p.activatesAt, publishUntil: p.activatesAt + window });
    signerSince = p.activatesAt;
  }
  remaining = remaining.filter((k) => k.activatesAt > now);

  const rotateAt = signerSince + policy.rotationMs;
  if (remaining.length === 0 && now >= rotateAt - policy.publishDelayMs) {
    actions.push({ type: "create", state: "pending", activatesAt: Math.max(now + policy.publishDelayMs, rotateAt) });
  }
  return actions;
}
