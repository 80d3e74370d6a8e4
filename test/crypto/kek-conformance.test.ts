/**
 * Every KEK provider against the one conformance suite (kek-conformance.ts),
 * each opened through a provider registry the way a runtime opens it: `local`
 * (in both storage modes), `pkcs11` on SoftHSM2, `aws-kms` with the SDK
 * client mocked, `vault-transit` against the local fake Vault server, and a
 * provider a host app defines and registers itself. Then the registry as a
 * runtime sees it: an app provider selected by RAMPART_KMS through
 * createRuntime and through the `rampart` plugin, an unknown name refused at
 * start naming the known ones, and the production checks of an app provider.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import Fastify from "fastify";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig, type Config } from "../../src/config/index.js";
import {
  AwsKmsKek,
  cryptoPreflight,
  InstrumentedKek,
  CryptoConfigError,
  DecryptionFailed,
  kekProviderRegistry,
  type EncryptionContext,
  type GeneratedKey,
  type KekProvider,
  type KekProviderDefinition,
  type KekRef,
  type KekVersionInfo,
  type WrappedKey,
} from "../../src/crypto/index.js";
import { ManualClock } from "../../src/runtime/clock.js";
import { rampart } from "../../src/server/rampart.js";
import { createTestEnv, stubSecretsEnv, testModes, type ModeName, type TestEnv } from "../helpers/modes.js";
import { createTestRuntime, type TestRuntime } from "../helpers/runtime.js";
import { initSoftHsmToken, SOFTHSM_MODULE } from "../helpers/softhsm.js";
import { fakeKms } from "./fixtures/kms-fake.js";
import { startVaultFake, type VaultFake } from "./fixtures/vault-fake.js";
import { kekConformance, type KekSubject } from "./kek-conformance.js";
import { MemorySecrets, randomKeySecret } from "./helpers.js";

const ctxOf = (id: string) => ({ "rampart:purpose": "dek", id });

/** A stand-in for the app's external KMS: numbered 256-bit keys behind an API token. */
class AppKms {
  readonly keys: { key: Buffer; retired: boolean }[] = [{ key: randomBytes(32), retired: false }];
  constructor(readonly token: string) {}
}

/** The app's KEK provider, written against the public KekProvider contract only. */
class AppKek implements KekProvider {
  readonly name = "app-kms";
  constructor(
    private readonly kms: AppKms,
    private readonly keyId: string,
  ) {}
  private aad(ref: KekRef, context: EncryptionContext): Buffer {
    return Buffer.from(JSON.stringify([ref.provider, ref.keyId, ref.version, Object.entries(context).sort(([a], [b]) => (a < b ? -1 : 1))]));
  }
  async current(): Promise<KekRef> {
    return { provider: this.name, keyId: this.keyId, version: this.kms.keys.length };
  }
  async generateDataKey(context: EncryptionContext): Promise<GeneratedKey> {
    const dek = randomBytes(32);
    return { dek, ...(await this.wrap(dek, context)) };
  }
  async wrap(dek: Buffer, context: EncryptionContext): Promise<WrappedKey> {
    const ref = await this.current();
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.kms.keys[ref.version - 1]!.key, iv).setAAD(this.aad(ref, context));
    return { ref, wrapped: Buffer.concat([iv, c.update(dek), c.final(), c.getAuthTag()]) };
  }
  async unwrap(ref: KekRef, wrapped: Buffer, context: EncryptionContext): Promise<Buffer> {
    const version = this.kms.keys[ref.version - 1];
    if (ref.provider !== this.name || ref.keyId !== this.keyId || !version || version.retired || wrapped.length !== 12 + 32 + 16) throw new DecryptionFailed();
    try {
      const d = createDecipheriv("aes-256-gcm", version.key, wrapped.subarray(0, 12)).setAAD(this.aad(ref, context)).setAuthTag(wrapped.subarray(44));
      return Buffer.concat([d.update(wrapped.subarray(12, 44)), d.final()]);
    } catch {
      throw new DecryptionFailed();
    }
  }
  async rotate(): Promise<KekRef> {
    this.kms.keys.push({ key: randomBytes(32), retired: false });
    return this.current();
  }
  async retire(ref: KekRef): Promise<void> {
    const version = this.kms.keys[ref.version - 1];
    if (version) version.retired = true;
  }
  async versions(): Promise<KekVersionInfo[]> {
    return this.kms.keys.map((k, i) => ({ ref: { provider: this.name, keyId: this.keyId, version: i + 1 }, state: k.retired ? ("retired" as const) : ("active" as const) }));
  }
  async close(): Promise<void> {}
}

/** How an app registers it: its settings from its own code, its credential from Rampart's secrets. */
function appKekProvider(kms: AppKms): KekProviderDefinition {
  return {
    name: "app-kms",
    async create(deps) {
      if ((await deps.secrets.get("app-kms-token")) !== kms.token) throw new CryptoConfigError("app-kms: the token was refused");
      deps.log.info("app KMS connected");
      return new AppKek(kms, "notes/main");
    },
    async preflight(_config, secrets) {
      return (await secrets.getOptional("app-kms-token")) === undefined ? ["RAMPART_KMS=app-kms: secret app-kms-token is not set"] : [];
    },
  };
}

/** A test runtime for a provider's storage, closed after the file's tests. */
function useStorage(mode: ModeName, overrides: Record<string, string> = {}) {
  const s: { env?: TestEnv; rt?: TestRuntime } = {};
  beforeAll(async () => {
    s.env = await createTestEnv(mode, overrides);
    s.rt = await createTestRuntime(s.env);
  });
  afterAll(async () => {
    await s.rt?.runtime.close();
    await s.env?.cleanup();
  });
  return () => {
    const { runtime } = s.rt!;
    return { env: s.env!, runtime, keyring: { config: runtime.config, db: runtime.db.kysely, log: runtime.log, clock: runtime.clock } };
  };
}

/** A subject opened from a registry by RAMPART_KMS, as createRuntime does. */
function fromRegistry(storage: ReturnType<typeof useStorage>, config: () => Config, secrets: () => MemorySecrets, versioning: KekSubject["versioning"], extra: KekProviderDefinition[] = []): () => KekSubject {
  return () => {
    const { runtime, keyring } = storage();
    const registry = kekProviderRegistry(extra);
    return { versioning, keyring, open: () => registry.create({ config: config(), db: runtime.db.kysely, secrets: secrets(), log: runtime.log, clock: runtime.clock }) };
  };
}

describe.each(testModes())("local (%s)", (mode) => {
  const storage = useStorage(mode);
  const secrets = new MemorySecrets({ "master-key": randomKeySecret() });
  kekConformance(`local (${mode})`, fromRegistry(storage, () => storage().runtime.config, () => secrets, "numbered"));
});

describe("pkcs11 (SoftHSM2)", () => {
  const storage = useStorage("embedded");
  const secrets = new MemorySecrets({ "pkcs11-pin": "4711-conformance" });
  let config: Config;
  beforeAll(() => {
    const { env } = storage();
    initSoftHsmToken(env.env.RAMPART_DATA_DIR!, "rampart-conf", "4711-conformance");
    config = loadConfig({ ...env.env, RAMPART_KMS: "pkcs11", PKCS11_MODULE: SOFTHSM_MODULE, PKCS11_TOKEN_LABEL: "rampart-conf", PKCS11_KEY_LABEL: "conf-kek" });
  });
  kekConformance("pkcs11 (SoftHSM2)", fromRegistry(storage, () => config, () => secrets, "numbered"));
});

describe("aws-kms (AWS mocked)", () => {
  const storage = useStorage("embedded");
  const kms = fakeKms();
  beforeAll(() => {
    kms.addKey("alias/rampart");
  });
  kekConformance("aws-kms (AWS mocked: GenerateDataKey, Encrypt, Decrypt, RotateKeyOnDemand)", () => {
    const { runtime, keyring } = storage();
    return { versioning: "internal", keyring, open: async () => new AwsKmsKek({ keyId: "alias/rampart", client: kms.client, log: runtime.log }) };
  });
});

describe("vault-transit (Vault HTTP fake)", () => {
  const storage = useStorage("embedded");
  let vault: VaultFake;
  let secrets: MemorySecrets;
  let config: Config;
  beforeAll(async () => {
    vault = await startVaultFake();
    secrets = new MemorySecrets({ "vault-token": vault.token });
    config = loadConfig({ ...storage().env.env, RAMPART_KMS: "vault-transit", VAULT_TRANSIT_ADDR: vault.addr });
  });
  afterAll(async () => vault?.close());
  const subject = fromRegistry(storage, () => config, () => secrets, "numbered");
  kekConformance("vault-transit (Vault HTTP fake)", () => ({
    ...subject(),
    // The wrapped key is Vault's text `vault:vN:<base64>`: change valid base64 characters, the version prefix, the length.
    tamper(wrapped) {
      const text = wrapped.toString("utf8");
      const body = text.indexOf(":", 6) + 1;
      const swap = (i: number) => Buffer.from(text.slice(0, i) + (text[i] === "A" ? "B" : "A") + text.slice(i + 1));
      const last = text.replace(/=+$/, "").length - 2;
      return [swap(body), swap((body + text.length) >> 1), swap(last), Buffer.from(text.replace(/^vault:v(\d+):/, (_, v: string) => `vault:v${Number(v) + 1}:`)), Buffer.from(text.slice(0, text.length >> 1)), Buffer.alloc(0)];
    },
  }));
});

describe("an app-registered provider", () => {
  const storage = useStorage("embedded");
  const kms = new AppKms("app-token-0123456789");
  const secrets = new MemorySecrets({ "app-kms-token": kms.token });
  const config = () => ({ ...storage().runtime.config, kms: "app-kms" });
  kekConformance("app-kms (registered by the app)", fromRegistry(storage, config, () => secrets, "numbered", [appKekProvider(kms)]));
});

describe.each(testModes())("the KEK provider registry of a runtime (%s)", (mode) => {
  let env: TestEnv;
  const kms = new AppKms("app-token-abcdefabcdef");
  const appEnv = { RAMPART_KMS: "app-kms", RAMPART_SECRET_APP_KMS_TOKEN: kms.token };
  beforeAll(async () => {
    env = await createTestEnv(mode);
  });
  afterAll(async () => env?.cleanup());

  it("RAMPART_KMS names an app provider: createRuntime opens it, data is wrapped by it and readable on another runtime", async () => {
    const first = await createTestRuntime(env, { env: appEnv, kekProviders: [appKekProvider(kms)] });
    let ct: string;
    try {
      const row = { table: "notes", column: "body", id: "1" };
      ct = await first.runtime.crypto.encrypt("note", row);
      expect((await first.runtime.crypto.keysStatus()).current).toEqual({ provider: "app-kms", keyId: "notes/main", version: 1 });
      const probe = first.runtime.healthChecks.find((c) => c.name === "kms")!;
      await expect(probe.probe()).resolves.toBeUndefined();
      expect(first.logs.records().some((l) => l.msg === "app KMS connected")).toBe(true);
    } finally {
      await first.runtime.close();
    }
    const second = await createTestRuntime(env, { env: appEnv, kekProviders: [appKekProvider(kms)] });
    try {
      expect(await second.runtime.crypto.decryptString(ct, { table: "notes", column: "body", id: "1" })).toBe("note");
      await expect(second.runtime.crypto.decrypt(ct, { table: "notes", column: "body", id: "2" })).rejects.toBeInstanceOf(DecryptionFailed);
    } finally {
      await second.runtime.close();
    }
  });

  it("an unregistered RAMPART_KMS is refused at runtime creation, naming it and the known providers", async () => {
    await expect(createTestRuntime(env, { env: appEnv })).rejects.toThrow("RAMPART_KMS: unknown KEK provider 'app-kms'; known: local, pkcs11, aws-kms, vault-transit");
    await expect(createTestRuntime(env, { env: appEnv, kekProviders: [{ ...appKekProvider(kms), name: "other-kms" }] })).rejects.toThrow(
      "known: local, pkcs11, aws-kms, vault-transit, other-kms",
    );
  });

  it("the app's provider is passed through the rampart plugin to the runtime it builds", async () => {
    const app = Fastify();
    try {
      // The plugin's runtime reads RAMPART_SECRET_* from process.env, as in production.
      process.env.RAMPART_SECRET_APP_KMS_TOKEN = kms.token;
      stubSecretsEnv(env);
      await app.register(rampart, { config: loadConfig({ ...env.env, ...appEnv, LOG_LEVEL: "silent" }), kekProviders: [appKekProvider(kms)] });
      await app.ready();
      expect((await app.rampart.runtime.crypto.keysStatus()).current.provider).toBe("app-kms");
    } finally {
      await app.close();
      delete process.env.RAMPART_SECRET_APP_KMS_TOKEN;
      vi.unstubAllEnvs();
    }
    const refused = Fastify();
    await expect(refused.register(rampart, { config: loadConfig({ ...env.env, ...appEnv, LOG_LEVEL: "silent" }) }).ready()).rejects.toThrow("unknown KEK provider 'app-kms'");
    await refused.close();
    // With a runtime the app built, the providers belong to its createRuntime call: silently ignoring them would hide a mistake.
    const rt = await createTestRuntime(env);
    const given = Fastify();
    try {
      await expect(given.register(rampart, { runtime: rt.runtime, kekProviders: [appKekProvider(kms)] }).ready()).rejects.toThrow(
        "rampart: options.kekProviders belong to the runtime; with options.runtime, pass them to createRuntime(config, { kekProviders }) instead",
      );
    } finally {
      await given.close();
      await rt.runtime.close();
    }
  });
});

describe("KEK provider registrations", () => {
  it("a built-in name, a duplicate or a malformed name is refused, naming it", () => {
    const kms = new AppKms("t");
    expect(() => kekProviderRegistry([{ ...appKekProvider(kms), name: "local" }])).toThrow("KEK provider 'local' is already registered");
    expect(() => kekProviderRegistry([appKekProvider(kms), appKekProvider(kms)])).toThrow("KEK provider 'app-kms' is already registered");
    expect(() => kekProviderRegistry([{ ...appKekProvider(kms), name: "App KMS" }])).toThrow("instead got 'App KMS'");
    expect(kekProviderRegistry([appKekProvider(kms)]).names()).toEqual(["local", "pkcs11", "aws-kms", "vault-transit", "app-kms"]);
  });

  it("RAMPART_KMS takes any well-formed name at load; the registry decides at start", () => {
    expect(loadConfig({ RAMPART_KMS: "app-kms" }).kms).toBe("app-kms");
    expect(() => loadConfig({ RAMPART_KMS: "rot 13" })).toThrow("RAMPART_KMS: expected a KEK provider name (lower-case letters, digits, dashes), instead got 'rot 13'");
  });

  it("a factory that returns a provider under another name is refused (the name is stored in every header)", async () => {
    const kms = new AppKms("t");
    const registry = kekProviderRegistry([{ name: "renamed", create: async () => new AppKek(kms, "k") }]);
    const deps = { config: loadConfig({ RAMPART_KMS: "renamed" }), db: {} as never, secrets: new MemorySecrets(), log: pino({ level: "silent" }), clock: new ManualClock() };
    await expect(registry.create(deps)).rejects.toThrow("KEK provider 'renamed': create() returned a provider named 'app-kms'");
  });

  it("the keyring never hands a provider a wrapped key whose header names another provider", async () => {
    const kms = new AppKms("t");
    // A provider that would unwrap anything under the app's key, whatever provider the reference names.
    const inner = new AppKek(kms, "k");
    const gen = await inner.generateDataKey(ctxOf("1"));
    const lenient: KekProvider = {
      name: "lenient",
      current: () => inner.current(),
      generateDataKey: (c) => inner.generateDataKey(c),
      wrap: (d, c) => inner.wrap(d, c),
      unwrap: (ref, wrapped, c) => inner.unwrap({ ...ref, provider: inner.name }, wrapped, c),
      rotate: () => inner.rotate(),
      retire: (r) => inner.retire(r),
      versions: () => inner.versions(),
      close: () => inner.close(),
    };
    expect((await lenient.unwrap(gen.ref, gen.wrapped, ctxOf("1"))).equals(gen.dek)).toBe(true);
    await expect(new InstrumentedKek(lenient).unwrap(gen.ref, gen.wrapped, ctxOf("1"))).rejects.toBeInstanceOf(DecryptionFailed);
  });

  it("production preflight runs the app provider's own checks, and refuses an unknown provider", async () => {
    const kms = new AppKms("t");
    const config = loadConfig({ NODE_ENV: "production", RAMPART_KMS: "app-kms" });
    const blind = { "blind-index-key": randomKeySecret() };
    const registry = kekProviderRegistry([appKekProvider(kms)]);
    expect(await cryptoPreflight(config, new MemorySecrets(blind), registry)).toEqual(["RAMPART_KMS=app-kms: secret app-kms-token is not set"]);
    expect(await cryptoPreflight(config, new MemorySecrets({ ...blind, "app-kms-token": "t" }), registry)).toEqual([]);
    expect(await cryptoPreflight(config, new MemorySecrets(blind))).toEqual(["RAMPART_KMS=app-kms: unknown KEK provider; known: local, pkcs11, aws-kms, vault-transit"]);
  });
});
