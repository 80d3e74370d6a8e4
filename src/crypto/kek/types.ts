/**
 * The key encryption key (KEK) provider contract. A provider only ever wraps
 * and unwraps data encryption keys (DEKs); payloads never reach it. Every wrap
 * is bound to a key context (a small string map: the DEK's purpose and, for
 * per-subject keys, the subject) through the provider's own authenticated
 * mechanism (AES-GCM AAD, KMS EncryptionContext, Vault derived-key context), so
 * a wrapped DEK moved to another subject fails to unwrap.
 */
import type { EncryptionContext } from "../context.js";

/**
 * A KEK provider's name as RAMPART_KMS selects it and every wrapped-key header
 * stores it. The set of names is open: each runtime has a registry of
 * providers (providers.ts), built-ins and a host app's alike.
 */
export type KekProviderName = string;

/** Lower-case letters, digits and dashes, 1-32 characters, starting with a letter: fits the one-byte length of the rp1 header. */
const NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** Whether `name` is well-formed for a KEK provider (says nothing about whether one is registered). */
export function isKekProviderName(name: string): boolean {
  return NAME.test(name);
}

/** Which KEK wrapped a DEK: stored in every wrapped-key header and subject-key row. */
export interface KekRef {
  readonly provider: KekProviderName;
  /** Provider-specific key name: local `default`, the PKCS#11 key label, the KMS key ARN, `mount/key` for Vault. */
  readonly keyId: string;
  readonly version: number;
}

export interface WrappedKey {
  readonly ref: KekRef;
  readonly wrapped: Buffer;
}

export interface GeneratedKey extends WrappedKey {
  /** 32 bytes of plaintext DEK; the caller owns it and zeroizes it. */
  readonly dek: Buffer;
}

export interface KekVersionInfo {
  readonly ref: KekRef;
  readonly state: "active" | "retired";
  readonly createdAt?: Date;
  readonly retiredAt?: Date;
}

/**
 * A KEK provider. Failure semantics: `unwrap` rejects with DecryptionFailed
 * when the wrapped key or context is wrong (tampered, other key, retired
 * version) and with KekUnavailableError when the provider cannot be reached.
 */
export interface KekProvider {
  readonly name: KekProviderName;
  /** The version that wraps new DEKs now (created on first use where the provider can). */
  current(): Promise<KekRef>;
  /** A fresh 256-bit DEK and its wrapped form under the current version, in one provider call where the API allows. */
  generateDataKey(context: EncryptionContext): Promise<GeneratedKey>;
  /** Wraps an existing DEK under the current version (rewrap). */
  wrap(dek: Buffer, context: EncryptionContext): Promise<WrappedKey>;
  unwrap(ref: KekRef, wrapped: Buffer, context: EncryptionContext): Promise<Buffer>;
  /** Makes a new version current; DEKs wrapped from now on use it. */
  rotate(): Promise<KekRef>;
  /** Destroys or disables a version's key material. The keyring checks dependents first. */
  retire(ref: KekRef): Promise<void>;
  /** Known versions, oldest first. */
  versions(): Promise<KekVersionInfo[]>;
  /**
   * Proves that this process's key material opens the current version the
   * database holds (not only that the provider answers), creating nothing;
   * rejects with KekMismatchError when it cannot. Providers whose keys the
   * database does not wrap (a KMS, an HSM) may omit it.
   */
  verify?(): Promise<void>;
  close(): Promise<void>;
}

/** `provider/keyId#vN`: a display and map key for a KekRef. */
export function refString(ref: KekRef): string {
  return `${ref.provider}/${ref.keyId}#v${ref.version}`;
}

export function sameRef(a: KekRef, b: KekRef): boolean {
  return a.provider === b.provider && a.keyId === b.keyId && a.version === b.version;
}
