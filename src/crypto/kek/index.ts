/**
 * Chooses and opens the KEK provider named by RAMPART_KMS. Each provider's
 * required options are checked here and a missing one is named in the error.
 * The network providers get their upstream (`kms.aws`, `kms.vault-transit`)
 * from the runtime's registry, so `/metrics` shows it.
 */
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Config } from "../../config/index.js";
import type { Tables } from "../../db/tables.js";
import type { UpstreamRegistry } from "../../resilience/index.js";
import type { Clock } from "../../runtime/clock.js";
import type { Secrets } from "../../secrets/types.js";
import { CryptoConfigError } from "../errors.js";
import { decodeKeySecret, loadKeySecret } from "../key-secrets.js";
import { AWS_KMS_UPSTREAM, AwsKmsKek, awsKmsUpstreamOptions } from "./aws-kms.js";
import { LocalKek } from "./local.js";
import { Pkcs11Kek } from "./pkcs11.js";
import type { KekProvider } from "./types.js";
import { VAULT_TRANSIT_UPSTREAM, VaultTransitKek, vaultTransitUpstreamOptions } from "./vault-transit.js";

export type KekConfig = Pick<
  Config,
  "kms" | "nodeEnv" | "dataDir" | "pkcs11Module" | "pkcs11TokenLabel" | "pkcs11KeyLabel" | "awsKmsKeyId" | "vaultTransitAddr" | "vaultTransitMount" | "vaultTransitKey"
>;

export interface KekDeps {
  config: KekConfig;
  db: Kysely<Tables>;
  secrets: Secrets;
  log: Logger;
  clock: Clock;
  /** The runtime's upstreams; without it a network provider makes a private upstream. */
  upstreams?: UpstreamRegistry;
}

function required<T>(value: T | undefined, env: string, kms: string): T {
  if (value === undefined) throw new CryptoConfigError(`${env}: required when RAMPART_KMS=${kms}, instead got nothing`);
  return value;
}

export async function createKekProvider(d: KekDeps): Promise<KekProvider> {
  const { config, log } = d;
  switch (config.kms) {
    case "local": {
      const masterKey = await loadKeySecret({ secrets: d.secrets, name: "master-key", nodeEnv: config.nodeEnv, dataDir: config.dataDir, log });
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
    }
    case "pkcs11":
      return Pkcs11Kek.open({
        db: d.db,
        modulePath: required(config.pkcs11Module, "PKCS11_MODULE", "pkcs11"),
        tokenLabel: required(config.pkcs11TokenLabel, "PKCS11_TOKEN_LABEL", "pkcs11"),
        keyLabel: config.pkcs11KeyLabel,
        pin: await d.secrets.get("pkcs11-pin"),
        log,
        clock: d.clock,
      });
    case "aws-kms":
      return AwsKmsKek.open({
        keyId: required(config.awsKmsKeyId, "AWS_KMS_KEY_ID", "aws-kms"),
        log,
        ...(d.upstreams ? { upstream: d.upstreams.create(AWS_KMS_UPSTREAM, awsKmsUpstreamOptions()) } : {}),
      });
    case "vault-transit":
      return new VaultTransitKek({
        addr: required(config.vaultTransitAddr, "VAULT_TRANSIT_ADDR", "vault-transit"),
        mount: config.vaultTransitMount,
        key: config.vaultTransitKey,
        token: () => d.secrets.get("vault-token"),
        log,
        ...(d.upstreams ? { upstream: d.upstreams.create(VAULT_TRANSIT_UPSTREAM, vaultTransitUpstreamOptions()) } : {}),
      });
  }
}

export { LocalKek, Pkcs11Kek, AwsKmsKek, VaultTransitKek };
export type { KekProvider, KekRef, KekProviderName, KekVersionInfo, GeneratedKey, WrappedKey } from "./types.js";
