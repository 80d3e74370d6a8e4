/**
 * Builds a keyring from what a runtime provides: config, database, secrets,
 * logger, clock and (for several instances) the kv store, whose pub/sub
 * carries rotation, retirement and shred notices so every instance drops the
 * affected keys at once; the cache age bound is the backstop for a missed
 * notice (pub/sub is at-most-once).
 */
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import type { Tables } from "../db/tables.js";
import type { KvStore } from "../kv/types.js";
import type { UpstreamRegistry } from "../resilience/index.js";
import { systemClock, type Clock } from "../runtime/clock.js";
import type { Secrets } from "../secrets/types.js";
import type { CiphertextColumn } from "./ciphertext-columns.js";
import { DataKeys } from "./data-keys.js";
import { createKekProvider, type KekConfig } from "./kek/index.js";
import type { KekProviderRegistry } from "./kek/providers.js";
import { InstrumentedKek, type KekStats } from "./kek/instrumented.js";
import { LocalKek } from "./kek/local.js";
import type { KekProvider } from "./kek/types.js";
import { decodeKeySecret, loadKeySecret } from "./key-secrets.js";
import { Keyring } from "./keyring.js";
import type { KeyringNotice, KeyringParts } from "./parts.js";
import { SubjectKeyStore } from "./subject-keys.js";

export type KeyringConfig = KekConfig & Pick<Config, "dekMaxAgeMs" | "dekMaxMessages" | "dekMaxBytes" | "dekCacheSize" | "dekCacheMaxAgeMs">;

export interface KeyringDeps {
  config: KeyringConfig;
  db: Kysely<Tables>;
  secrets: Secrets;
  log: Logger;
  clock?: Clock;
  /** Shared store for cross-instance notices; omit for a single process. */
  kv?: KvStore;
  /** A KEK provider to use instead of the one RAMPART_KMS names (tests). Not closed by the keyring. */
  kek?: KekProvider;
  /** The providers RAMPART_KMS may name (the runtime's: built-ins and the app's); default the built-ins. */
  kekProviders?: KekProviderRegistry;
  /** The runtime's upstreams, where a network KEK provider (AWS KMS, Vault Transit) registers its own. */
  upstreams?: UpstreamRegistry;
}

const CHANNEL = "crypto:keyring";

export async function createKeyring(deps: KeyringDeps): Promise<Keyring> {
  const { config, db, secrets, kv } = deps;
  const log = deps.log.child({ component: "crypto" });
  const clock = deps.clock ?? systemClock;
  const kek = deps.kek ?? (await createKekProvider({ config, db, secrets, log, clock, ...(deps.upstreams ? { upstreams: deps.upstreams } : {}) }, deps.kekProviders));
  // The data path (DEK generation and unwrapping) goes through a counting decorator, read by metrics.
  const counted = new InstrumentedKek(kek);
  const subjects = new SubjectKeyStore(db, counted, clock);
  const keys = new DataKeys({
    kek: counted,
    subjects,
    clock,
    limits: { maxAgeMs: config.dekMaxAgeMs, maxMessages: config.dekMaxMessages, maxBytes: config.dekMaxBytes },
    cacheSize: config.dekCacheSize,
    cacheMaxAgeMs: config.dekCacheMaxAgeMs,
  });
  const columns: CiphertextColumn[] = [];
  const parts: KeyringParts & { columns: CiphertextColumn[]; kekStats: () => KekStats } = {
    db,
    kek,
    subjects,
    keys,
    columns,
    kekStats: () => counted.stats(),
    log,
    clock,
    notify: async (notice: KeyringNotice) => {
      if (kv) await kv.publish(CHANNEL, JSON.stringify(notice));
    },
  };

  const unsubscribe = kv
    ? await kv.subscribe(CHANNEL, (message) => {
        try {
          const n = JSON.parse(message) as KeyringNotice;
          if (n.type === "rotated") keys.rotated();
          else if (n.type === "retired") keys.dropRef(n.ref);
          else if (n.type === "shred") keys.dropSubjectKey(Buffer.from(n.keyId, "hex"));
        } catch (err) {
          log.warn({ err }, "ignored a malformed keyring notice");
        }
      })
    : undefined;

  // A replaced master key re-wraps the local KEK rows while the old one is still in memory.
  const offRotate =
    kek instanceof LocalKek
      ? secrets.onRotate("master-key", (value) => {
          kek.rewrapMasterKey(decodeKeySecret("master-key", value)).catch((err: unknown) => log.error({ err }, "re-wrapping KEK versions under the new master key failed"));
        })
      : undefined;

  let blindRoot: Promise<Buffer> | undefined;
  const loadBlindRoot = () =>
    (blindRoot ??= loadKeySecret({ secrets, name: "blind-index-key", nodeEnv: config.nodeEnv, dataDir: config.dataDir, databaseUrl: config.databaseUrl, log }).catch((err: unknown) => {
      blindRoot = undefined;
      throw err;
    }));

  return new Keyring(parts, loadBlindRoot, async () => {
    offRotate?.();
    await unsubscribe?.();
    const root = await blindRoot?.catch(() => undefined);
    root?.fill(0);
    if (!deps.kek) await kek.close();
  });
}
