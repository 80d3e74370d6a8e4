/**
 * `rampart keys status | rotate | retire`. A rotation makes a new KEK version
 * current at once (this instance flushes its pooled DEK and tells the others
 * through the kv store); `rewrap` (rewrap.ts) moves stored DEKs to it; `retire`
 * destroys an old version only when nothing depends on it any more: not the
 * current version, no subject key, no ciphertext in a registered column.
 */
import { columnName, parseStored, scanColumn } from "./ciphertext-columns.js";
import { KekRetireRefused } from "./errors.js";
import { LocalKek } from "./kek/local.js";
import { refString, sameRef, type KekProviderName, type KekRef } from "./kek/types.js";
import type { KeyringParts } from "./parts.js";

export interface KekVersionStatus {
  readonly ref: KekRef;
  readonly state: "active" | "retired";
  readonly current: boolean;
  readonly createdAt?: Date;
  readonly retiredAt?: Date;
  /** Subject keys wrapped by this version. */
  readonly subjectKeys: number;
  /** Values in registered ciphertext columns whose header DEK is wrapped by this version. */
  readonly ciphertexts: number;
}

export interface KeysStatus {
  readonly provider: KekProviderName;
  readonly current: KekRef;
  readonly versions: readonly KekVersionStatus[];
  /** Registered ciphertext columns (`table.column`). */
  readonly columns: readonly string[];
  /** `local` only: KEK rows still wrapped by an earlier master key. */
  readonly rowsUnderOldMasterKey?: number;
}

/** Values per KEK version in all registered columns (a full scan, in pages). */
async function countColumnRefs(parts: KeyringParts, pageSize = 1000): Promise<Map<string, { ref: KekRef; count: number }>> {
  const out = new Map<string, { ref: KekRef; count: number }>();
  for (const column of parts.columns) {
    let after: string | undefined;
    for (;;) {
      const rows = await scanColumn(parts.db, column, after, pageSize);
      if (rows.length === 0) break;
      for (const row of rows) {
        const src = parseStored(row.value)?.header.keySource;
        if (src?.kind !== "wrapped") continue;
        const k = refString(src.ref);
        const e = out.get(k) ?? { ref: src.ref, count: 0 };
        e.count++;
        out.set(k, e);
      }
      after = rows[rows.length - 1]!.id;
    }
  }
  return out;
}

export async function keysStatus(parts: KeyringParts): Promise<KeysStatus> {
  const current = await parts.kek.current();
  const known = await parts.kek.versions();
  const subjectCounts = await parts.subjects.countByRef();
  const columnCounts = await countColumnRefs(parts);
  const refs = new Map<string, KekRef>();
  for (const v of known) refs.set(refString(v.ref), v.ref);
  for (const s of subjectCounts) refs.set(refString(s.ref), s.ref);
  for (const c of columnCounts.values()) refs.set(refString(c.ref), c.ref);
  const versions = [...refs.values()].map((ref): KekVersionStatus => {
    const info = known.find((v) => sameRef(v.ref, ref));
    return {
      ref,
      state: info?.state ?? "active",
      current: sameRef(ref, current),
      ...(info?.createdAt ? { createdAt: info.createdAt } : {}),
      ...(info?.retiredAt ? { retiredAt: info.retiredAt } : {}),
      subjectKeys: subjectCounts.filter((s) => sameRef(s.ref, ref)).reduce((a, s) => a + s.count, 0),
      ciphertexts: columnCounts.get(refString(ref))?.count ?? 0,
    };
  });
  versions.sort((a, b) => `${a.ref.provider}/${a.ref.keyId}`.localeCompare(`${b.ref.provider}/${b.ref.keyId}`) || a.ref.version - b.ref.version);
  return {
    provider: parts.kek.name,
    current,
    versions,
    columns: parts.columns.map(columnName),
    ...(parts.kek instanceof LocalKek ? { rowsUnderOldMasterKey: await parts.kek.rowsUnderOldMasterKeys() } : {}),
  };
}

export async function rotateKek(parts: KeyringParts): Promise<KekRef> {
  const ref = await parts.kek.rotate();
  parts.keys.rotated();
  await parts.notify({ type: "rotated" });
  return ref;
}

/** Retires a version (a number means that version of the current provider key). */
export async function retireKek(parts: KeyringParts, which: number | KekRef): Promise<void> {
  const current = await parts.kek.current();
  const ref: KekRef = typeof which === "number" ? { ...current, version: which } : which;
  const name = refString(ref);
  if (sameRef(ref, current)) throw new KekRetireRefused(`${name} is the current KEK version; rotate first`, { subjectKeys: 0, ciphertexts: 0 });
  const subjectKeys = (await parts.subjects.countByRef()).filter((s) => sameRef(s.ref, ref)).reduce((a, s) => a + s.count, 0);
  const ciphertexts = (await countColumnRefs(parts)).get(name)?.count ?? 0;
  if (subjectKeys > 0 || ciphertexts > 0) {
    throw new KekRetireRefused(`${name} still wraps ${subjectKeys} subject key(s) and the data keys of ${ciphertexts} stored ciphertext(s); run rewrap first`, { subjectKeys, ciphertexts });
  }
  await parts.kek.retire(ref);
  parts.keys.dropRef(ref);
  await parts.notify({ type: "retired", ref });
  parts.log.info({ kek: name }, "KEK version retired");
}
