/**
 * 256-bit key material from the secrets module (`master-key`,
 * `blind-index-key`). In development and test only, a missing secret is
 * generated once into `<RAMPART_DATA_DIR>/<name>.key` with mode 0600 and a
 * loud warning; in production a missing secret stops start-up, and preflight
 * refuses a value equal to a generated development file. Values are 32 bytes
 * as 64 hex characters or (unpadded or padded) base64 / base64url.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Logger } from "pino";
import type { Secrets } from "../secrets/types.js";
import { CryptoConfigError } from "./errors.js";

export type KeySecretName = "master-key" | "blind-index-key";

export interface KeySecretOptions {
  secrets: Secrets;
  name: KeySecretName;
  nodeEnv: "development" | "production" | "test";
  dataDir: string;
  log: Logger;
}

/** Decodes a 256-bit key secret; the error names the secret and the length received, never the value. */
export function decodeKeySecret(name: string, raw: string): Buffer {
  const v = raw.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, "hex") : /^[A-Za-z0-9+/_-]{43}={0,1}$/.test(v) ? Buffer.from(v.replace(/=$/, ""), "base64url") : undefined;
  if (bytes?.length !== 32) {
    throw new CryptoConfigError(`secret ${name}: expected 32 bytes as 64 hex characters or base64, instead got a value of ${v.length} characters`);
  }
  return bytes;
}

export function devKeyPath(dataDir: string, name: KeySecretName): string {
  return join(resolve(dataDir), `${name === "master-key" ? "master" : "blind-index"}.key`);
}

/** The development key file's value, when one exists (for preflight). */
export function readDevKey(dataDir: string, name: KeySecretName): Buffer | undefined {
  try {
    return decodeKeySecret(name, readFileSync(devKeyPath(dataDir, name), "utf8"));
  } catch {
    return undefined;
  }
}

function loadOrCreateDevKey(o: KeySecretOptions): Buffer {
  const file = devKeyPath(o.dataDir, o.name);
  mkdirSync(resolve(o.dataDir), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, `${randomBytes(32).toString("base64url")}\n`, { flag: "wx", mode: 0o600 });
    o.log.warn(
      { file, secret: o.name },
      `!!! DEVELOPMENT KEY GENERATED: ${o.name} was not set, so a random key was written to ${file} (mode 0600). Anyone who can read this file can decrypt the data it protects. NODE_ENV=production refuses it: set the secret ${o.name} from a secrets provider. !!!`,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    if ((statSync(file).mode & 0o077) !== 0) {
      chmodSync(file, 0o600);
      o.log.warn({ file }, "development key file was readable by others; mode reset to 0600");
    }
    o.log.warn({ file, secret: o.name }, `using the DEVELOPMENT ${o.name} from ${file}; production refuses it`);
  }
  return decodeKeySecret(o.name, readFileSync(file, "utf8"));
}

/** Loads a key secret, or in development / test the generated development key. */
export async function loadKeySecret(o: KeySecretOptions): Promise<Buffer> {
  const raw = await o.secrets.getOptional(o.name);
  if (raw !== undefined) return decodeKeySecret(o.name, raw);
  if (o.nodeEnv === "production") {
    throw new CryptoConfigError(`secret ${o.name}: required when NODE_ENV=production, instead got nothing (a generated development key is refused in production)`);
  }
  return loadOrCreateDevKey(o);
}
