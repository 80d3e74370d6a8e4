/**
 * Production refusals for the crypto settings, for `rampart preflight` and
 * `serve` with NODE_ENV=production: a missing or development master key, a
 * missing blind-index key, a provider without its required options.
 */
import { constantTimeEqual } from "./bytes.js";
import type { KeyringConfig } from "./create-keyring.js";
import { decodeKeySecret, readDevKey, type KeySecretName } from "./key-secrets.js";
import type { Secrets } from "../secrets/types.js";

async function keyProblem(secrets: Secrets, config: KeyringConfig, name: KeySecretName): Promise<string | undefined> {
  const raw = await secrets.getOptional(name);
  if (raw === undefined) return `secret ${name} is not set (a generated development key is refused in production)`;
  let value: Buffer;
  try {
    value = decodeKeySecret(name, raw);
  } catch (err) {
    return (err as Error).message;
  }
  const dev = readDevKey(config.dataDir, name);
  if (dev && constantTimeEqual(dev, value)) return `secret ${name} is the generated development key from the data directory; use a key from a secrets provider`;
  return undefined;
}

/** Problems that must stop a production start; empty when the crypto settings are fit for production. */
export async function cryptoPreflight(config: KeyringConfig, secrets: Secrets): Promise<string[]> {
  const problems: string[] = [];
  if (config.kms === "local") {
    const p = await keyProblem(secrets, config, "master-key");
    if (p) problems.push(`RAMPART_KMS=local: ${p}`);
  }
  if (config.kms === "pkcs11") {
    if (!config.pkcs11Module) problems.push("RAMPART_KMS=pkcs11: PKCS11_MODULE is not set");
    if (!config.pkcs11TokenLabel) problems.push("RAMPART_KMS=pkcs11: PKCS11_TOKEN_LABEL is not set");
    if ((await secrets.getOptional("pkcs11-pin")) === undefined) problems.push("RAMPART_KMS=pkcs11: secret pkcs11-pin is not set");
  }
  if (config.kms === "aws-kms" && !config.awsKmsKeyId) problems.push("RAMPART_KMS=aws-kms: AWS_KMS_KEY_ID is not set");
  if (config.kms === "vault-transit") {
    if (!config.vaultTransitAddr) problems.push("RAMPART_KMS=vault-transit: VAULT_TRANSIT_ADDR is not set");
    if ((await secrets.getOptional("vault-token")) === undefined) problems.push("RAMPART_KMS=vault-transit: secret vault-token is not set");
  }
  const b = await keyProblem(secrets, config, "blind-index-key");
  if (b) problems.push(b);
  return problems;
}
