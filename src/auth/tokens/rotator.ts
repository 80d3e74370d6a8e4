/**
 * Carries out signing-key rotation against the database: the scheduled check
 * (apply planRotation) and the manual `rampart keys rotate-signing`. Both hold
 * one database lease, so one instance at a time changes keys, and announce a
 * change on the kv channel `signing-keys:changed` so the other instances
 * reload at once instead of at their next interval.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Kysely } from "kysely";
import { acquireLease, releaseLease } from "../../db/leases.js";
import type { Tables } from "../../db/tables.js";
import type { KvStore } from "../../kv/types.js";
import type { Logger } from "../../log/index.js";
import type { Clock } from "../../runtime/clock.js";
import { generateSigningKey, sealPrivateKey } from "./key-material.js";
import { deleteExpiredSigningKeys, deleteSigningKey, insertSigningKey, listSigningKeys, promoteSigningKey } from "./key-store.js";
import { planRotation, type RotationAction } from "./rotation.js";
import type { AccessTokenSettings, Sealer } from "./types.js";

/** The kv pub/sub channel announcing a change of the stored signing keys. */
export const SIGNING_KEYS_CHANNEL = "signing-keys:changed";

const LEASE_NAME = "auth:signing-key-rotation";
const LEASE_TTL_MS = 60_000;

/** The stores, clock and sealer that the signing keys live in; all I/O comes in here. */
export interface SigningKeyDeps {
  readonly db: Kysely<Tables>;
  readonly kv: KvStore;
  readonly clock: Clock;
  readonly log: Logger;
  /** Seals the private keys at rest (src/crypto). */
  readonly sealer: Sealer;
  readonly settings: AccessTokenSettings;
}

/** What rotation needs. */
export interface RotatorDeps extends SigningKeyDeps {
  /** Lease holder id of this instance. */
  readonly holder: string;
}

/** The outcome of a manual rotation. */
export interface RotationResult {
  /** The successor key. */
  readonly kid: string;
  /** When it signs (epoch ms); now for an emergency rotation. */
  readonly activatesAt: number;
  /** False when a pending successor already existed and is returned instead. */
  readonly created: boolean;
  /** The key removed by an emergency rotation. */
  readonly removedKid?: string;
}

async function withLease<T>(deps: RotatorDeps, fn: () => Promise<T>): Promise<T | undefined> {
  if (!(await acquireLease(deps.db, LEASE_NAME, deps.holder, LEASE_TTL_MS, deps.clock.now()))) return undefined;
  try {
    return await fn();
  } finally {
    await releaseLease(deps.db, LEASE_NAME, deps.holder).catch((err: unknown) => deps.log.warn({ err }, "could not release the signing-key lease"));
  }
}

async function createKey(deps: RotatorDeps, state: "active" | "pending", activatesAt: number): Promise<string> {
  const key = generateSigningKey();
  const privateKeySealed = await sealPrivateKey(deps.sealer, key);
  await insertSigningKey(deps.db, { kid: key.kid, state, publicJwk: JSON.stringify(key.publicJwk), privateKeySealed, createdAt: deps.clock.now(), activatesAt });
  deps.log.info({ kid: key.kid, state, activatesAt: new Date(activatesAt).toISOString() }, "signing key created");
  return key.kid;
}

async function apply(deps: RotatorDeps, action: RotationAction): Promise<void> {
  switch (action.type) {
    case "create":
      await createKey(deps, action.state, action.activatesAt);
      return;
    case "promote":
      if (await promoteSigningKey(deps.db, action.kid, action.at, action.publishUntil)) deps.log.info({ kid: action.kid }, "signing key activated");
      return;
    case "purge": {
      const n = await deleteExpiredSigningKeys(deps.db, deps.clock.now());
      if (n > 0) deps.log.info({ count: n }, "retired signing keys removed");
      return;
    }
  }
}

/** Tells every instance to reload; a lost message is covered by their reload interval. */
export async function announceChange(deps: Pick<RotatorDeps, "kv" | "log">): Promise<void> {
  await deps.kv.publish(SIGNING_KEYS_CHANNEL, "changed").catch((err: unknown) => deps.log.warn({ err }, "could not announce a signing-key change"));
}

/**
 * The scheduled check: under the lease, applies what planRotation says is due.
 * Returns whether anything changed (false also when another instance holds the lease).
 */
export async function runRotationCheck(deps: RotatorDeps): Promise<boolean> {
  const changed = await withLease(deps, async () => {
    const actions = planRotation(await listSigningKeys(deps.db), deps.clock.now(), deps.settings);
    for (const action of actions) await apply(deps, action);
    return actions.length > 0;
  });
  if (changed) await announceChange(deps);
  return changed === true;
}

/**
 * Manual rotation (`rampart keys rotate-signing`). Normally it creates a
 * pending successor that signs after the publish delay (relying parties see it
 * in the JWKS first); an existing pending successor is returned instead of a
 * second one. With `emergency` (the active private key is compromised) the
 * successor signs at once and the previous active key is deleted, so every
 * token it signed stops verifying: sessions continue through refresh.
 */
export async function rotateSigningKey(deps: RotatorDeps, options: { emergency?: boolean } = {}): Promise<RotationResult> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const result = await withLease(deps, async (): Promise<RotationResult> => {
      const now = deps.clock.now();
      const keys = await listSigningKeys(deps.db);
      const active = keys.find((k) => k.state === "active");
      if (options.emergency) {
        const kid = await createKey(deps, "pending", now);
        await promoteSigningKey(deps.db, kid, now, now);
        if (active) await deleteSigningKey(deps.db, active.kid);
        deps.log.warn({ kid, removedKid: active?.kid }, "emergency signing-key rotation: previous key removed");
        return { kid, activatesAt: now, created: true, ...(active ? { removedKid: active.kid } : {}) };
      }
      const waiting = keys.find((k) => k.state === "pending" && k.activatesAt > now);
      if (waiting) return { kid: waiting.kid, activatesAt: waiting.activatesAt, created: false };
      const activatesAt = active ? now + deps.settings.publishDelayMs : now;
      return { kid: await createKey(deps, active ? "pending" : "active", activatesAt), activatesAt, created: true };
    });
    if (result) {
      if (result.created) await announceChange(deps);
      return result;
    }
    await sleep(100);
  }
  throw new Error("another instance holds the signing-key rotation lease; try again");
}
