/**
 * The contract of the secrets module as other capabilities see it. Names are
 * kebab-case (`master-key`, `jwt-signing`, `database-url`, `stripe-webhook`).
 */

export interface Secrets {
  /** The current value; rejects with SecretNotFoundError when no provider has it. */
  get(name: string): Promise<string>;
  /** The current value, or undefined when no provider has it. */
  getOptional(name: string): Promise<string | undefined>;
  /**
   * Calls `cb` with the new value whenever a reload finds that `name` changed
   * (rotation). Returns a function that removes the callback.
   */
  onRotate(name: string, cb: (value: string) => void): () => void;
}
