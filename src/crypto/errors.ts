/**
 * Errors of the crypto core. DecryptionFailed is deliberately one class with
 * one message for every way a ciphertext can be rejected (tampered byte, wrong
 * context, wrong or shredded key, unknown version, truncation), as jose's
 * JWEDecryptionFailed: a caller, a log line or an attacker probing an endpoint
 * learns nothing about which check failed. Operational failures (a KMS that
 * cannot be reached) are a different error on purpose: they are not evidence
 * that data is corrupt.
 */

const DECRYPTION_FAILED_MESSAGE = "decryption failed";

/** Any rejected ciphertext. Never carries a cause, so no log tells the failures apart. */
export class DecryptionFailed extends Error {
  override readonly name = "DecryptionFailed";
  constructor() {
    super(DECRYPTION_FAILED_MESSAGE);
  }
}

/** The KEK provider could not be reached or refused to work (network, HSM session, credentials). */
export class KekUnavailableError extends Error {
  override readonly name = "KekUnavailableError";
}

/**
 * This instance's key material does not open the KEK the database holds (a
 * master key other than the one its rows are wrapped by): a configuration
 * fault, the same on every retry, and not evidence of corrupt data.
 */
export class KekMismatchError extends KekUnavailableError {
  constructor(
    message: string,
    /** The cause in a few words, without key ids or check values: what readiness reports publicly. */
    readonly reason: string,
  ) {
    super(message);
  }
}

/** A configuration or key-material problem found at start-up (names the option and what was received). */
export class CryptoConfigError extends Error {
  override readonly name = "CryptoConfigError";
}

/** RAMPART_KMS names a provider nobody registered (the CLI then says how an app's own reach it). */
export class UnknownKekProviderError extends CryptoConfigError {
  constructor(
    readonly provider: string,
    known: readonly string[],
  ) {
    super(`RAMPART_KMS: unknown KEK provider '${provider}'; known: ${known.join(", ")}`);
  }
}

/** `retireKek` refused: the version is current, or stored keys or ciphertexts still depend on it. */
export class KekRetireRefused extends Error {
  override readonly name = "KekRetireRefused";
  constructor(
    message: string,
    readonly dependents: { subjectKeys: number; ciphertexts: number },
  ) {
    super(message);
  }
}
