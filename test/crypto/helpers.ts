/**
 * Test helpers for the crypto suite: an in-memory Secrets (the contract of
 * src/secrets/types.ts, with rotation), a KEK provider wrapper that counts
 * calls, and a keyring on a migrated test runtime in either storage mode.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { createKeyring, LocalKek, type Keyring, type KekProvider, type KeyringDeps } from "../../src/crypto/index.js";
import type { Secrets } from "../../src/secrets/types.js";
import { createTestEnv, type ModeName, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";

/** Secrets held in a map; `rotate` changes a value and fires onRotate callbacks like the real module. */
export class MemorySecrets implements Secrets {
  private readonly values = new Map<string, string>();
  private readonly callbacks = new Map<string, Set<(v: string) => void>>();

  constructor(initial: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(initial)) this.values.set(k, v);
  }
  async get(name: string): Promise<string> {
    const v = this.values.get(name);
    if (v === undefined) throw new Error(`secret ${name} not found`);
    return v;
  }
  async getOptional(name: string): Promise<string | undefined> {
    return this.values.get(name);
  }
  onRotate(name: string, cb: (value: string) => void): () => void {
    const set = this.callbacks.get(name) ?? new Set();
    set.add(cb);
    this.callbacks.set(name, set);
    return () => set.delete(cb);
  }
  set(name: string, value: string): void {
    this.values.set(name, value);
  }
  rotate(name: string, value: string): void {
    this.values.set(name, value);
    for (const cb of this.callbacks.get(name) ?? []) cb(value);
  }
}

export function randomKeySecret(): string {
  return randomBytes(32).toString("base64");
}

export type KekMethod = "generateDataKey" | "wrap" | "unwrap" | "current" | "rotate" | "retire";

/** Wraps a provider and counts calls per method (the "one KEK call per cache miss" check). */
export function countingKek(inner: KekProvider): KekProvider & { calls: Record<KekMethod, number>; reset(): void } {
  const calls: Record<KekMethod, number> = { generateDataKey: 0, wrap: 0, unwrap: 0, current: 0, rotate: 0, retire: 0 };
  return {
    name: inner.name,
    calls,
    reset() {
      for (const k of Object.keys(calls) as KekMethod[]) calls[k] = 0;
    },
    current: () => (calls.current++, inner.current()),
    generateDataKey: (c) => (calls.generateDataKey++, inner.generateDataKey(c)),
    wrap: (d, c) => (calls.wrap++, inner.wrap(d, c)),
    unwrap: (r, w, c) => (calls.unwrap++, inner.unwrap(r, w, c)),
    rotate: () => (calls.rotate++, inner.rotate()),
    retire: (r) => (calls.retire++, inner.retire(r)),
    versions: () => inner.versions(),
    close: () => inner.close(),
  };
}

export interface KeyringHarness {
  env: TestEnv;
  rt: TestRuntime;
  secrets: MemorySecrets;
  keyring: Keyring;
  /** Another keyring (a second instance) on the same database and kv. */
  peer(extra?: Partial<KeyringDeps>): Promise<Keyring>;
  done(): Promise<void>;
}

/** A keyring on a migrated runtime (PGlite or PostgreSQL+Redis) with fresh master and blind-index keys. */
export async function keyringHarness(mode: ModeName = "embedded", extra: Partial<KeyringDeps> = {}, envOverrides: Record<string, string> = {}): Promise<KeyringHarness> {
  const env = await createTestEnv(mode, envOverrides);
  const rt = await createTestRuntime(env);
  const secrets = new MemorySecrets({ "master-key": randomKeySecret(), "blind-index-key": randomKeySecret() });
  const base = { config: rt.runtime.config, db: rt.runtime.db.kysely, secrets, log: rt.runtime.log, clock: rt.runtime.clock, kv: rt.runtime.kv };
  const keyring = await createKeyring({ ...base, ...extra });
  const peers: Keyring[] = [];
  return {
    env,
    rt,
    secrets,
    keyring,
    async peer(more = {}) {
      const k = await createKeyring({ ...base, ...more });
      peers.push(k);
      return k;
    },
    async done() {
      for (const p of peers) await p.close();
      await keyring.close();
      await rt.runtime.close();
      await env.cleanup();
    },
  };
}

/** A second instance whose local KEK (same database and master key) counts its calls. */
export async function countedPeer(h: KeyringHarness, extra: Partial<KeyringDeps> = {}): Promise<{ keyring: Keyring; kek: ReturnType<typeof countingKek> }> {
  const local = new LocalKek({
    db: h.rt.runtime.db.kysely,
    masterKey: Buffer.from(await h.secrets.get("master-key"), "base64"),
    log: h.rt.runtime.log,
    clock: extra.clock ?? h.rt.runtime.clock,
  });
  const kek = countingKek(local);
  return { keyring: await h.peer({ kek, ...extra }), kek };
}

/** A keyring harness for the calling file or describe block: made in beforeAll, closed in afterAll. */
export function useKeyringHarness(mode: ModeName = "embedded"): { readonly harness: KeyringHarness; readonly keyring: Keyring } {
  let h: KeyringHarness | undefined;
  beforeAll(async () => {
    h = await keyringHarness(mode);
  });
  afterAll(async () => h?.done());
  const harness = () => {
    if (!h) throw new Error("the keyring exists once beforeAll has run");
    return h;
  };
  return {
    get harness() {
      return harness();
    },
    get keyring() {
      return harness().keyring;
    },
  };
}
