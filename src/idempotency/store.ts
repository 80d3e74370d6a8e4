/**
 * Idempotency records in the kv store, shared by every instance.
 *
 * A key's life: `begin` writes an in-flight marker with `set ifAbsent`, so of
 * any number of concurrent first requests (on one instance or many) exactly
 * one starts; the others find the marker and are told `in-flight`, or
 * `mismatch` when their fingerprint differs. `complete` overwrites the marker
 * with the response and the full TTL; later requests get `replay`. `abandon`
 * drops a marker whose request never produced a response (aborted), so the
 * client can retry; a marker also expires by itself after `inFlightTtlMs`.
 *
 * Kv keys are `idem:` + SHA-256 of (scope, key): a client's key is never a
 * store key. Stored responses may hold personal data or a secret shown once
 * (an API key), so they are encrypted with the keyring (`rp1:`), bound to
 * their kv key; the fingerprint is a hash and stays in clear.
 */
import { createHash } from "node:crypto";
import type { Keyring } from "../crypto/index.js";
import type { KvStore } from "../kv/index.js";

/** The part of a response that is stored and replayed. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type BeginResult =
  | { kind: "started" }
  | { kind: "in-flight" }
  | { kind: "mismatch" }
  | { kind: "replay"; response: StoredResponse };

interface Row {
  /** pending (in flight) or done. */
  s: "pending" | "done";
  /** Request fingerprint. */
  f: string;
  /** Encrypted StoredResponse (done only). */
  r?: string;
}

export interface IdempotencyStoreOptions {
  kv: KvStore;
  crypto: Pick<Keyring, "encrypt" | "decryptString">;
  /** How long a response is kept and replayed. */
  ttlMs: number;
  /** How long an in-flight marker lives when its request never completes. */
  inFlightTtlMs: number;
}

export class IdempotencyStore {
  constructor(private readonly o: IdempotencyStoreOptions) {}

  /** The kv key of (scope, client key). */
  kvKey(scope: string, key: string): string {
    return `idem:${createHash("sha256").update(scope).update("\n").update(key).digest("hex")}`;
  }

  private context(kvKey: string) {
    return { table: "kv", column: "idempotency.response", id: kvKey };
  }

  /** Claims the key for this request, or says why not (in flight, reused with another request, or done). */
  async begin(scope: string, key: string, fingerprint: string): Promise<BeginResult> {
    const k = this.kvKey(scope, key);
    const marker: Row = { s: "pending", f: fingerprint };
    // Two rounds at most: a record can expire between a failed set and the get.
    for (let round = 0; round < 2; round++) {
      if (await this.o.kv.set(k, JSON.stringify(marker), { ifAbsent: true, ttlMs: this.o.inFlightTtlMs })) return { kind: "started" };
      const raw = await this.o.kv.get(k);
      if (raw === null) continue;
      const row = JSON.parse(raw) as Row;
      if (row.f !== fingerprint) return { kind: "mismatch" };
      if (row.s === "pending" || row.r === undefined) return { kind: "in-flight" };
      const response = JSON.parse(await this.o.crypto.decryptString(row.r, this.context(k))) as StoredResponse;
      return { kind: "replay", response };
    }
    return { kind: "in-flight" };
  }

  /** Stores the response of a started request for the TTL. */
  async complete(scope: string, key: string, fingerprint: string, response: StoredResponse): Promise<void> {
    const k = this.kvKey(scope, key);
    const r = await this.o.crypto.encrypt(JSON.stringify(response), this.context(k));
    const row: Row = { s: "done", f: fingerprint, r };
    await this.o.kv.set(k, JSON.stringify(row), { ttlMs: this.o.ttlMs });
  }

  /** Drops the in-flight marker of a request that produced no storable response. */
  async abandon(scope: string, key: string): Promise<void> {
    const k = this.kvKey(scope, key);
    const raw = await this.o.kv.get(k);
    if (raw !== null && (JSON.parse(raw) as Row).s === "pending") await this.o.kv.del(k);
  }
}
