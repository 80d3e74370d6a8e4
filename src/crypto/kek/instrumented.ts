/**
 * Counts and times every call the keyring makes to its KEK provider (a local
 * key, an HSM, a cloud KMS), by operation, so operators can see KMS load,
 * failures and latency (the metrics module exports these). A decorator: the
 * provider itself is untouched, and the counters belong to this instance.
 */
import type { EncryptionContext } from "../context.js";
import { DecryptionFailed } from "../errors.js";
import { LatencyHistogram, type LatencyStats } from "../../resilience/stats.js";
import type { GeneratedKey, KekProvider, KekProviderName, KekRef, KekVersionInfo, WrappedKey } from "./types.js";

/** The provider operations that are counted (close is not a call to the KMS). */
export const KEK_OPERATIONS = ["current", "generateDataKey", "wrap", "unwrap", "rotate", "retire", "versions"] as const;

export type KekOperation = (typeof KEK_OPERATIONS)[number];

/** Calls to the KEK provider since start, by operation. */
export interface KekStats {
  readonly provider: KekProviderName;
  readonly operations: Readonly<Record<KekOperation, { readonly calls: number; readonly errors: number; readonly latency: LatencyStats }>>;
}

/** A KekProvider that records calls, failures and latency of the provider it wraps. */
export class InstrumentedKek implements KekProvider {
  readonly name: KekProviderName;
  private readonly ops = new Map<KekOperation, { calls: number; errors: number; latency: LatencyHistogram }>(
    KEK_OPERATIONS.map((op) => [op, { calls: 0, errors: 0, latency: new LatencyHistogram() }]),
  );

  constructor(private readonly inner: KekProvider) {
    this.name = inner.name;
  }

  private async timed<T>(op: KekOperation, call: () => Promise<T>): Promise<T> {
    const c = this.ops.get(op)!;
    const started = performance.now();
    c.calls++;
    try {
      return await call();
    } catch (err) {
      c.errors++;
      throw err;
    } finally {
      c.latency.observe(performance.now() - started);
    }
  }

  current(): Promise<KekRef> {
    return this.timed("current", () => this.inner.current());
  }
  generateDataKey(context: EncryptionContext): Promise<GeneratedKey> {
    return this.timed("generateDataKey", () => this.inner.generateDataKey(context));
  }
  wrap(dek: Buffer, context: EncryptionContext): Promise<WrappedKey> {
    return this.timed("wrap", () => this.inner.wrap(dek, context));
  }
  unwrap(ref: KekRef, wrapped: Buffer, context: EncryptionContext): Promise<Buffer> {
    // A header that names another provider never reaches this one (whatever it would make of it): the one rejection.
    if (ref.provider !== this.name) return Promise.reject(new DecryptionFailed());
    return this.timed("unwrap", () => this.inner.unwrap(ref, wrapped, context));
  }
  rotate(): Promise<KekRef> {
    return this.timed("rotate", () => this.inner.rotate());
  }
  retire(ref: KekRef): Promise<void> {
    return this.timed("retire", () => this.inner.retire(ref));
  }
  versions(): Promise<KekVersionInfo[]> {
    return this.timed("versions", () => this.inner.versions());
  }
  close(): Promise<void> {
    return this.inner.close();
  }

  /** A snapshot of the counters. */
  stats(): KekStats {
    const operations = Object.fromEntries([...this.ops].map(([op, c]) => [op, { calls: c.calls, errors: c.errors, latency: c.latency.snapshot() }]));
    return { provider: this.name, operations: operations as KekStats["operations"] };
  }
}
