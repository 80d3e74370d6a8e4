/**
 * The production check of one key secret (`master-key`, `blind-index-key`):
 * it must be set, decode to 32 bytes, and not be the development key that
 * Rampart generated into the data directory.
 */
import { constantTimeEqual } from "./bytes.js";
import { decodeKeySecret, readDevKey, type KeySecretName } from "./key-secrets.js";
import type { Secrets } from "../secrets/types.js";

/** Why `name` is not fit for production, or undefined when it is. The message never carries the value. */
export async function keySecretProblem(secrets: Secrets, dataDir: string, name: KeySecretName): Promise<string | undefined> {
  const raw = await secrets.getOptional(name);
  if (raw === undefined) return `secret ${name} is not set (a generated development key is refused in production)`;
  let value: Buffer;
  try {
    value = decodeKeySecret(name, raw);
  } catch (err) {
    return (err as Error).message;
  }
  const dev = readDevKey(dataDir, name);
  if (dev && constantTimeEqual(dev, value)) return `secret ${name} is the generated development key from the data directory; use a key from a secrets provider`;
  return undefined;
}
