/**
 * The hash chain of the audit log: each entry's hash is SHA-256 over the
 * previous entry's hash and a canonical encoding of the entry (JSON with
 * sorted keys, timestamps as ISO strings), so altering, removing or
 * reordering any entry breaks every later link.
 */
import { createHash } from "node:crypto";

export interface ChainEntry {
  seq: number;
  at: Date;
  actorType: string;
  actorId: string | null;
  action: string;
  target: string | null;
  ipHash: string | null;
  traceId: string | null;
  /** Canonical JSON text of the entry's data. */
  data: string;
}

/** JSON with object keys sorted at every level: one text per value, whatever the insertion order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new TypeError("audit data must not hold non-finite numbers");
    return JSON.stringify(value) ?? "null";
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

export function entryHash(prevHash: string, e: ChainEntry): string {
  const body = canonicalJson({
    seq: e.seq,
    at: e.at.toISOString(),
    actorType: e.actorType,
    actorId: e.actorId,
    action: e.action,
    target: e.target,
    ip: e.ipHash,
    traceId: e.traceId,
    data: e.data,
  });
  return createHash("sha256").update(prevHash, "utf8").update("\n").update(body, "utf8").digest("hex");
}
