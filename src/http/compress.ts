/**
 * Response compression: the rule and its settings (framework-free; the
 * Fastify glue is src/server/plugins/compression.ts, on @fastify/compress).
 *
 * BREACH: a compressed response whose body holds a secret next to text an
 * attacker can influence leaks the secret through its length. So the rule
 * is opt-in, and cannot be forgotten the unsafe way: only a route declared
 * with `config: { compress: true }` is ever compressed — lists and documents
 * that carry no token, key, code or link (its author says so by opting in).
 * Token, key, backup-code, TOTP and export responses never opt in, and a
 * route that forgets to opt in is merely sent uncompressed.
 * `Cache-Control: no-store` cannot be the signal: every JSON answer has it
 * (headers.ts keeps personal data out of caches). On top of the opt-in, an
 * answer that sets a cookie is never compressed.
 */
import type { Config } from "../config/index.js";

export interface CompressionOptions {
  /** COMPRESSION_ENABLED: `false` compresses nothing. */
  enabled: boolean;
  /** COMPRESSION_THRESHOLD_BYTES: smaller bodies are sent as they are. */
  thresholdBytes: number;
}

/** The codings offered, in the server's order of preference when the client weighs them alike. */
export const COMPRESSION_ENCODINGS = ["br", "gzip", "deflate"] as const;

/** The compression settings of a config. */
export function compressionOptions(config: Pick<Config, "compressionEnabled" | "compressionThresholdBytes">): CompressionOptions {
  return { enabled: config.compressionEnabled, thresholdBytes: config.compressionThresholdBytes };
}

/**
 * A Vary value that includes `accept-encoding`, written in the form
 * @fastify/compress looks for so that it is never added twice.
 */
export function varyWithAcceptEncoding(current: unknown): string {
  const values = (Array.isArray(current) ? current : current === undefined || current === null ? [] : [current]).map(String);
  return values.some((v) => v.toLowerCase().includes("accept-encoding")) ? values.join(", ") : [...values, "accept-encoding"].join(", ");
}

/** Whether an answer must go out uncompressed whatever its route declared: it sets a cookie. */
export function mustNotCompress(headers: { hasHeader(name: string): boolean }): boolean {
  return headers.hasHeader("set-cookie");
}
