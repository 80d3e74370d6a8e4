/**
 * The key status an administrator reads (`GET /v1/admin/keys`): the KEK
 * versions as `rampart keys status` reports them (the keyring's keysStatus),
 * whether the rewrap after the last rotation is done, and the access-token
 * signing keys as stored, with which one signs and which are in the JWKS.
 *
 * Only names, versions, states, dates and counts leave here: never key
 * material, a wrapped key, a master-key check value or a sealed private key.
 * Each view is built field by field, so a field added to a record later does
 * not reach the wire unnoticed.
 */
import type { KekRef, KekVersionStatus } from "../../crypto/index.js";
import type { Identity } from "../identity.js";
import { listSigningKeys, type SigningKeyRecord, type SigningKeyState } from "../tokens/index.js";
import { parsePublicJwk } from "../tokens/key-material.js";

export interface KekRefView {
  provider: string;
  keyId: string;
  version: number;
}

export interface KekVersionView extends KekRefView {
  /** `active`: usable (wraps new data keys when `current`, else only unwraps); `retired`: destroyed. */
  state: "active" | "retired";
  current: boolean;
  createdAt: string | null;
  retiredAt: string | null;
  subjectKeys: number;
  ciphertexts: number;
}

export interface RewrapView {
  /** No data key, ciphertext or (local provider) KEK row is left under an earlier version or master key. */
  complete: boolean;
  /** Subject keys still wrapped by a version other than the current one. */
  subjectKeys: number;
  /** Values in registered ciphertext columns whose data key a non-current version wraps. */
  ciphertexts: number;
  /** `local` provider: KEK rows still wrapped by an earlier master key; null for other providers. */
  rowsUnderOldMasterKey: number | null;
}

export interface SigningKeyView {
  kid: string;
  /** From the stored public JWK; null when that key cannot be read (the key ring skips it). */
  alg: string | null;
  state: SigningKeyState;
  /** New tokens are signed with it now. */
  signing: boolean;
  /** In the JWKS this instance serves now (tokens it signed verify). */
  published: boolean;
  createdAt: string;
  activatesAt: string;
  activatedAt: string | null;
  retiredAt: string | null;
  publishUntil: string | null;
}

export interface KeyStatusView {
  kek: { provider: string; current: KekRefView; versions: KekVersionView[]; columns: string[]; rewrap: RewrapView };
  signingKeys: SigningKeyView[];
}

const refView = (ref: KekRef): KekRefView => ({ provider: ref.provider, keyId: ref.keyId, version: ref.version });
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function versionView(v: KekVersionStatus): KekVersionView {
  return {
    ...refView(v.ref),
    state: v.state,
    current: v.current,
    createdAt: v.createdAt?.toISOString() ?? null,
    retiredAt: v.retiredAt?.toISOString() ?? null,
    subjectKeys: v.subjectKeys,
    ciphertexts: v.ciphertexts,
  };
}

function algOf(record: SigningKeyRecord): string | null {
  try {
    return parsePublicJwk(record.kid, record.publicJwk).alg;
  } catch {
    return null;
  }
}

/** The KEK versions and the signing keys, without any secret. */
export async function keyStatus(identity: Identity): Promise<KeyStatusView> {
  const { runtime, tokens } = identity;
  const status = await runtime.crypto.keysStatus();
  const behind = status.versions.filter((v) => !v.current);
  const subjectKeys = behind.reduce((n, v) => n + v.subjectKeys, 0);
  const ciphertexts = behind.reduce((n, v) => n + v.ciphertexts, 0);
  const oldMaster = status.rowsUnderOldMasterKey ?? null;

  // This instance's view (the JWKS it serves, the kid it signs with): every instance converges on the stored rows.
  const signingKid = tokens.currentKid();
  const published = new Set(tokens.jwks().keys.map((k) => k.kid));
  const records = await listSigningKeys(runtime.db.kysely);
  const signingKeys = records.map(
    (r): SigningKeyView => ({
      kid: r.kid,
      alg: algOf(r),
      state: r.state,
      signing: r.kid === signingKid,
      published: published.has(r.kid),
      createdAt: new Date(r.createdAt).toISOString(),
      activatesAt: new Date(r.activatesAt).toISOString(),
      activatedAt: iso(r.activatedAt),
      retiredAt: iso(r.retiredAt),
      publishUntil: iso(r.publishUntil),
    }),
  );
  return {
    kek: {
      provider: status.provider,
      current: refView(status.current),
      versions: status.versions.map(versionView),
      columns: [...status.columns],
      rewrap: { complete: subjectKeys === 0 && ciphertexts === 0 && (oldMaster ?? 0) === 0, subjectKeys, ciphertexts, rowsUnderOldMasterKey: oldMaster },
    },
    signingKeys,
  };
}
