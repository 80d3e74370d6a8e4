/**
 * The rotation policy as a pure function: when a successor is created, when
 * it is promoted (dated back to when it started signing), when a retired key
 * is purged, and the bootstrap of the first key.
 */
import { describe, expect, it } from "vitest";
import { planRotation, type SigningKeyRecord } from "../../../src/auth/tokens/index.js";

const DAY = 86_400_000;
const policy = { rotationMs: 30 * DAY, publishDelayMs: 600_000, ttlSeconds: 900, clockSkewSeconds: 30 };
const T0 = Date.UTC(2026, 0, 1);

function key(kid: string, state: SigningKeyRecord["state"], activatesAt: number, extra: Partial<SigningKeyRecord> = {}): SigningKeyRecord {
  return { kid, state, publicJwk: "{}", privateKeySealed: "x", createdAt: activatesAt, activatesAt, activatedAt: state === "active" ? activatesAt : null, retiredAt: null, publishUntil: null, ...extra };
}

describe("planRotation", () => {
  it("creates an active key at once when there is none", () => {
    expect(planRotation([], T0, policy)).toEqual([{ type: "create", state: "active", activatesAt: T0 }]);
  });

  it("does nothing while the active key is young", () => {
    expect(planRotation([key("a", "active", T0)], T0 + 29 * DAY, policy)).toEqual([]);
  });

  it("creates the successor one publish delay before the rotation age, signing exactly at that age", () => {
    const due = T0 + 30 * DAY - 600_000;
    expect(planRotation([key("a", "active", T0)], due - 1, policy)).toEqual([]);
    expect(planRotation([key("a", "active", T0)], due, policy)).toEqual([{ type: "create", state: "pending", activatesAt: T0 + 30 * DAY }]);
    // Checked late (instances were down): the successor still gets its full publish delay.
    expect(planRotation([key("a", "active", T0)], T0 + 40 * DAY, policy)).toEqual([{ type: "create", state: "pending", activatesAt: T0 + 40 * DAY + 600_000 }]);
  });

  it("does not create a second successor while one is pending", () => {
    expect(planRotation([key("a", "active", T0), key("b", "pending", T0 + 30 * DAY)], T0 + 30 * DAY - 1, policy)).toEqual([]);
  });

  it("promotes a due successor as of its activation time and retires the predecessor for ttl + skew", () => {
    const at = T0 + 30 * DAY;
    expect(planRotation([key("a", "active", T0), key("b", "pending", at)], at + 45_000, policy)).toEqual([{ type: "promote", kid: "b", at, publishUntil: at + 930_000 }]);
  });

  it("purges retired keys whose window ended, and only then", () => {
    const retired = key("a", "retired", T0, { retiredAt: T0 + DAY, publishUntil: T0 + DAY + 930_000 });
    const active = key("b", "active", T0 + DAY);
    expect(planRotation([retired, active], T0 + DAY + 929_999, policy)).toEqual([]);
    expect(planRotation([retired, active], T0 + DAY + 930_000, policy)).toEqual([{ type: "purge" }]);
  });

  it("promotes a pending key at once when no key is active", () => {
    expect(planRotation([key("b", "pending", T0 + 600_000)], T0, policy)).toEqual([{ type: "promote", kid: "b", at: T0, publishUntil: T0 + 930_000 }]);
  });
});
