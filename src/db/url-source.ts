/**
 * The public side of a rotating database URL, apart from the pool
 * (postgres-pool.ts) so that the package's declarations never name `pg`'s
 * types: an app type-checks them without @types/pg installed.
 */

/** How long a checkout refused for its credentials waits for the secret to change before it fails. */
export const AUTH_RETRY_MS = 5_000;

/** Where the connection URL comes from when it can change while the process runs (a secret). */
export interface DatabaseUrlSource {
  /** For messages: `secret database-url`. */
  readonly label: string;
  /** The URL as its provider holds it now, bypassing caches. */
  reread(): Promise<string>;
  /** Calls `onChange` with the new URL whenever the provider's value changes; returns the unsubscribe. */
  watch(onChange: (url: string) => void): () => void;
}
