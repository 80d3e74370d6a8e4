/**
 * Errors of the secrets module. Their messages are built from our own text
 * (names, provider ids, status codes): a secret value can never end up in a
 * message, whatever the provider returned.
 */

/** `get` found the name in no provider. */
export class SecretNotFoundError extends Error {
  override readonly name = "SecretNotFoundError";
  constructor(
    readonly secretName: string,
    /** Where each provider looked, in chain order. */
    readonly tried: readonly string[],
  ) {
    super(`secret "${secretName}" not found; looked in: ${tried.join(", ")}`);
  }
}

/** A provider failed (unreachable, denied, malformed answer, timeout) while loading a secret. */
export class SecretLoadError extends Error {
  override readonly name = "SecretLoadError";
  constructor(
    readonly secretName: string,
    readonly provider: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`secret "${secretName}" could not be loaded from ${provider}: ${reason}`, options);
  }
}

/** The name is not kebab-case. */
export class InvalidSecretNameError extends Error {
  override readonly name = "InvalidSecretNameError";
  constructor(received: string) {
    // A long "name" is more likely a value passed by mistake: only its length is shown.
    const shown = received.length > 40 ? `a ${received.length}-character string` : `'${received}'`;
    super(`invalid secret name: expected kebab-case (a-z, 0-9, single dashes), instead got ${shown}`);
  }
}

/** The secrets service was closed. */
export class SecretsClosedError extends Error {
  override readonly name = "SecretsClosedError";
  constructor() {
    super("the secrets service is closed");
  }
}

/**
 * Thrown by providers. The message is safe by construction (the provider
 * writes it from status codes and names, never from a payload).
 */
export class ProviderError extends Error {
  override readonly name = "ProviderError";
  /**
   * The backend failed (unreachable, 5xx, throttled) rather than answered
   * (denied, malformed data): the call is retried and counts towards the
   * provider's circuit breaker.
   */
  readonly transient: boolean;

  constructor(message: string, options: { cause?: unknown; transient?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.transient = options.transient ?? false;
  }
}

/** A message for any error that says what failed without copying text that may carry a payload. */
export function safeReason(err: unknown): string {
  if (err instanceof ProviderError) return err.message;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" ? `${err.name} (${code})` : err.name;
  }
  return "unknown error";
}
