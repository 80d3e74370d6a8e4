/**
 * Rampart's own KEK providers, as registry definitions: the same shape a host
 * app registers its provider with. Each reads its options from the config
 * (a missing one is named in the error), its credentials from the secrets
 * module, and a network provider registers its upstream (`kms.aws`,
 * `kms.vault-transit`) in the runtime's registry so `/metrics` shows it.
 * Each also carries its production refusals.
 */
import { CryptoConfigError } from "../errors.js";
import { decodeKeySecret, loadKeySecret } from "../key-secrets.js";
import { keySecretProblem } from "../key-secret-problem.js";
import { AWS_KMS_UPSTREAM, AwsKmsKek, awsKmsUpstreamOptions } from "./aws-kms.js";
import { LocalKek } from "./local.js";
import { Pkcs11Kek } from "./pkcs11.js";
import type { KekProviderDefinition } from "./providers.js";
import { VAULT_TRANSIT_UPSTREAM, VaultTransitKek, vaultTransitUpstreamOptions } from "./vault-transit.js";

function required<T>(value: T | undefined, env: string, kms: string): T {
  if (value === undefined) throw new CryptoConfigError(`${env}: required when RAMPART_KMS=${kms}, instead got nothing`);
  return value;
}

export const localKekProvider: KekProviderDefinition = {
  name: "local",
  async create(d) {
    const { config, log } = d;
    const masterKey = await loadKeySecret({ secrets: d.secrets, name: "master-key", nodeEnv: config.nodeEnv, dataDir: config.dataDir, databaseUrl: config.databaseUrl, log });
    const previous = await d.secrets.getOptional("master-key-previous");
    const local = new LocalKek({
      db: d.db,
      masterKey,
      previousMasterKeys: previous === undefined ? [] : [decodeKeySecret("master-key-previous", previous)],
      reloadMasterKey: async () => {
        const v = await d.secrets.getOptional("master-key");
        return v === undefined ? undefined : decodeKeySecret("master-key", v);
      },
      log,
      clock: d.clock,
    });
    // A master key replaced while stopped: re-wrap the KEK rows that the previous one wraps.
    if (previous !== undefined) await local.rewrapMasterKey(masterKey);
    return local;
  },
  async preflight(config, secrets) {
    const p = await keySecretProblem(secrets, config.dataDir, "master-key");
    return p ? [`RAMPART_KMS=local: ${p}`] : [];
  },
};

export const pkcs11KekProvider: KekProviderDefinition = {
  name: "pkcs11",
  async create(d) {
    const { config } = d;
    return Pkcs11Kek.open({
      db: d.db,
      modulePath: required(config.pkcs11Module, "PKCS11_MODULE", "pkcs11"),
      tokenLabel: required(config.pkcs11TokenLabel, "PKCS11_TOKEN_LABEL", "pkcs11"),
      keyLabel: config.pkcs11KeyLabel,
      pin: await d.secrets.get("pkcs11-pin"),
      log: d.log,
      clock: d.clock,
    });
  },
  async preflight(config, secrets) {
    const problems: string[] = [];
    if (!config.pkcs11Module) problems.push("RAMPART_KMS=pkcs11: PKCS11_MODULE is not set");
    if (!config.pkcs11TokenLabel) problems.push("RAMPART_KMS=pkcs11: PKCS11_TOKEN_LABEL is not set");
    if ((await secrets.getOptional("pkcs11-pin")) === undefined) problems.push("RAMPART_KMS=pkcs11: secret pkcs11-pin is not set");
    return problems;
  },
};

export const awsKmsKekProvider: KekProviderDefinition = {
  name: "aws-kms",
  async create(d) {
    return AwsKmsKek.open({
      keyId: required(d.config.awsKmsKeyId, "AWS_KMS_KEY_ID", "aws-kms"),
      log: d.log,
      ...(d.upstreams ? { upstream: d.upstreams.create(AWS_KMS_UPSTREAM, awsKmsUpstreamOptions()) } : {}),
    });
  },
  async preflight(config) {
    return config.awsKmsKeyId ? [] : ["RAMPART_KMS=aws-kms: AWS_KMS_KEY_ID is not set"];
  },
};

export const vaultTransitKekProvider: KekProviderDefinition = {
  name: "vault-transit",
  async create(d) {
    const { config } = d;
    return new VaultTransitKek({
      addr: required(config.vaultTransitAddr, "VAULT_TRANSIT_ADDR", "vault-transit"),
      mount: config.vaultTransitMount,
      key: config.vaultTransitKey,
      token: () => d.secrets.get("vault-token"),
      log: d.log,
      ...(d.upstreams ? { upstream: d.upstreams.create(VAULT_TRANSIT_UPSTREAM, vaultTransitUpstreamOptions()) } : {}),
    });
  },
  async preflight(config, secrets) {
    const problems: string[] = [];
    if (!config.vaultTransitAddr) problems.push("RAMPART_KMS=vault-transit: VAULT_TRANSIT_ADDR is not set");
    if ((await secrets.getOptional("vault-token")) === undefined) problems.push("RAMPART_KMS=vault-transit: secret vault-token is not set");
    return problems;
  },
};

/** Rampart's providers, in the order `RAMPART_KMS` documents them. */
export const BUILTIN_KEK_PROVIDERS: readonly KekProviderDefinition[] = [localKekProvider, pkcs11KekProvider, awsKmsKekProvider, vaultTransitKekProvider];
