/** Shared set-up of the revocation-list tests: lists on the token test stores, closed after each test. */
import { afterAll, afterEach, beforeAll } from "vitest";
import { RevocationList, type RevocationListOptions } from "../../../src/auth/revocation/index.js";
import type { KvStore } from "../../../src/kv/types.js";
import type { Runtime } from "../../../src/runtime/index.js";
import type { ModeName } from "../../helpers/modes.js";
import { tokenStores, type TokenStores } from "../tokens/helpers.js";

/** Token lifetime (15 min) plus 30 s of skew, as the identity service configures it. */
export const RETENTION = 930_000;

/** The error code a verification fails with, or "ACCEPTED". */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => "ACCEPTED",
    (err: { code?: string }) => err.code ?? "THREW",
  );
}

/** The same store with some methods replaced (a lossy or failing connection). */
export function wrap(kv: KvStore, overrides: Partial<KvStore>): KvStore {
  return new Proxy(kv, { get: (target, prop, receiver) => (prop in overrides ? overrides[prop as keyof KvStore] : Reflect.get(target, prop, receiver)) });
}

export interface RevocationFixture {
  /** The two instances' runtimes, clock and token fixtures (set in beforeAll). */
  readonly stores: TokenStores;
  /** A revocation list on `runtime`'s kv, closed after the test. */
  list(runtime: Runtime, extra?: Partial<RevocationListOptions>): Promise<RevocationList>;
}

/** Registers the hooks in the calling describe block. */
export function useRevocationLists(mode: ModeName): RevocationFixture {
  let stores: TokenStores | undefined;
  const lists: RevocationList[] = [];
  beforeAll(async () => {
    stores = await tokenStores(mode);
  });
  afterEach(async () => {
    for (const l of lists.splice(0)) await l.close();
  });
  afterAll(async () => stores?.close());
  return {
    get stores() {
      if (!stores) throw new Error("the stores exist once beforeAll has run");
      return stores;
    },
    async list(runtime, extra = {}) {
      const l = await RevocationList.create({ kv: runtime.kv, clock: this.stores.clock, log: runtime.log, retentionMs: RETENTION, syncIntervalMs: 0, ...extra });
      lists.push(l);
      return l;
    },
  };
}
