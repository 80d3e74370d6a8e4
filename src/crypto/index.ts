/**
 * Public API of envelope encryption (`rampart/crypto`): the keyring and its
 * factory, the rp1 format's error type, KEK providers, blind indexes, rotation
 * types and the production preflight.
 */
export { createKeyring, type KeyringConfig, type KeyringDeps } from "./create-keyring.js";
export { Keyring, type Plaintext, type Ciphertext, type FramedOptions } from "./keyring.js";
export { DecryptionFailed, KekUnavailableError, KekMismatchError, CryptoConfigError, UnknownKekProviderError, KekRetireRefused } from "./errors.js";
export type { EncryptionContext } from "./context.js";
export { BlindIndex, normalizeEmail, type BlindIndexOptions, type Normalizer } from "./blind-index.js";
export type { CiphertextColumn } from "./ciphertext-columns.js";
export type { RewrapOptions, RewrapProgress, RewrapResult } from "./rewrap.js";
export type { KeysStatus, KekVersionStatus } from "./rotation.js";
export { cryptoPreflight } from "./preflight.js";
export { DEFAULT_FRAME_SIZE } from "./frames.js";
export { TEXT_PREFIX } from "./format.js";
export {
  createKekProvider,
  kekProviderRegistry,
  KekProviderRegistry,
  BUILTIN_KEK_PROVIDERS,
  LocalKek,
  Pkcs11Kek,
  AwsKmsKek,
  VaultTransitKek,
  type KekConfig,
  type KekDeps,
  type KekProviderDefinition,
} from "./kek/index.js";
export { InstrumentedKek, KEK_OPERATIONS, type KekStats, type KekOperation } from "./kek/instrumented.js";
export { refString, isKekProviderName, type KekProvider, type KekRef, type KekProviderName, type KekVersionInfo, type GeneratedKey, type WrappedKey } from "./kek/types.js";

import type { Keyring } from "./keyring.js";
import type { RewrapOptions, RewrapResult } from "./rewrap.js";
import type { KeysStatus } from "./rotation.js";
import type { KekRef } from "./kek/types.js";

/** `rampart keys status`: versions, what depends on each, the current one. */
export function keysStatus(keyring: Keyring): Promise<KeysStatus> {
  return keyring.keysStatus();
}

/** `rampart keys rotate`: a new KEK version wraps new DEKs from now on. */
export function rotateKek(keyring: Keyring): Promise<KekRef> {
  return keyring.rotateKek();
}

/** `rampart keys rewrap`: moves stored DEKs to the current version, batched and resumable. */
export function rewrap(keyring: Keyring, options?: RewrapOptions): Promise<RewrapResult> {
  return keyring.rewrap(options);
}

/** `rampart keys retire <version>`: refuses while anything depends on it. */
export function retireKek(keyring: Keyring, version: number | KekRef): Promise<void> {
  return keyring.retireKek(version);
}
