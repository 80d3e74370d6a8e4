/**
 * Administration, read-only: the key status (`GET /v1/admin/keys`, what
 * `rampart keys status` prints) — the KEK provider and its versions, whether
 * the rewrap after the last rotation is done, and the access-token signing
 * keys with the one that signs and the ones in the JWKS. The API returns
 * names, states and dates only; rotating stays on the command line.
 */
import { useQuery } from "@tanstack/react-query";
import { api } from "../api";
import { ErrorNote, formatDate, Loading } from "../ui";

interface KekRef {
  provider: string;
  keyId: string;
  version: number;
}

interface KekVersion extends KekRef {
  state: "active" | "retired";
  current: boolean;
  createdAt: string | null;
  retiredAt: string | null;
  subjectKeys: number;
  ciphertexts: number;
}

interface SigningKey {
  kid: string;
  alg: string | null;
  state: "pending" | "active" | "retired";
  signing: boolean;
  published: boolean;
  createdAt: string;
  activatesAt: string;
  activatedAt: string | null;
  retiredAt: string | null;
  publishUntil: string | null;
}

interface KeyStatus {
  kek: {
    provider: string;
    current: KekRef;
    versions: KekVersion[];
    columns: string[];
    rewrap: { complete: boolean; subjectKeys: number; ciphertexts: number; rowsUnderOldMasterKey: number | null };
  };
  signingKeys: SigningKey[];
}

const refName = (r: KekRef) => `${r.provider}/${r.keyId}#v${r.version}`;

function KekUse({ v }: { v: KekVersion }) {
  if (v.state === "retired") return <span className="badge">retired</span>;
  if (v.current) return <span className="badge ok">active, current</span>;
  return <span className="badge warn">active, decrypt-only</span>;
}

function SigningUse({ k }: { k: SigningKey }) {
  return (
    <>
      <span className={`badge ${k.signing ? "ok" : ""}`}>{k.signing ? "signing" : k.state}</span>
      {k.published ? <span className="badge">in JWKS</span> : null}
    </>
  );
}

export function AdminKeys() {
  const status = useQuery({ queryKey: ["admin-keys"], queryFn: () => api<KeyStatus>("GET", "/v1/admin/keys") });
  if (status.isPending) return <Loading />;
  const data = status.data;
  const rewrap = data?.kek.rewrap;
  return (
    <>
      <h1 className="page-title">Keys</h1>
      <p>Read-only. Rotation, rewrap and retirement run on the command line: <code>rampart keys</code>.</p>
      <ErrorNote error={status.error} />
      {data && rewrap ? (
        <>
          <section className="card" aria-labelledby="kek-title">
            <h2 id="kek-title">Key encryption key</h2>
            <dl className="facts">
              <dt>Provider</dt>
              <dd data-testid="kek-provider">{data.kek.provider}</dd>
              <dt>Current version</dt>
              <dd><code>{refName(data.kek.current)}</code></dd>
              <dt>Rewrap</dt>
              <dd data-testid="rewrap-status">
                {rewrap.complete ? (
                  <span className="badge ok">complete</span>
                ) : (
                  <>
                    <span className="badge warn">pending</span> {rewrap.subjectKeys} subject key(s), {rewrap.ciphertexts} ciphertext(s)
                    {rewrap.rowsUnderOldMasterKey ? `, ${rewrap.rowsUnderOldMasterKey} KEK row(s) under an earlier master key` : ""} — run <code>rampart keys rewrap</code>
                  </>
                )}
              </dd>
              <dt>Encrypted columns</dt>
              <dd>{data.kek.columns.length > 0 ? data.kek.columns.join(", ") : "none registered"}</dd>
            </dl>
            <div className="table-wrap" tabIndex={0} role="region" aria-label="KEK versions">
              <table>
                <caption className="sr-only">KEK versions, oldest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Version</th>
                    <th scope="col">State</th>
                    <th scope="col">Subject keys</th>
                    <th scope="col">Ciphertexts</th>
                    <th scope="col">Created</th>
                    <th scope="col">Retired</th>
                  </tr>
                </thead>
                <tbody>
                  {data.kek.versions.map((v) => (
                    <tr key={refName(v)} data-testid="kek-row">
                      <td><code>{refName(v)}</code></td>
                      <td><KekUse v={v} /></td>
                      <td>{v.subjectKeys.toLocaleString()}</td>
                      <td>{v.ciphertexts.toLocaleString()}</td>
                      <td>{formatDate(v.createdAt)}</td>
                      <td>{formatDate(v.retiredAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
          <section className="card" aria-labelledby="signing-title">
            <h2 id="signing-title">Token signing keys</h2>
            <p className="hint">
              A new key is published in the JWKS before it signs; a retired one stays published until the tokens it signed have expired.
            </p>
            <div className="table-wrap" tabIndex={0} role="region" aria-label="Token signing keys">
              <table>
                <caption className="sr-only">Token signing keys, oldest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Key id (kid)</th>
                    <th scope="col">Algorithm</th>
                    <th scope="col">State</th>
                    <th scope="col">Created</th>
                    <th scope="col">Signs from</th>
                    <th scope="col">Published until</th>
                  </tr>
                </thead>
                <tbody>
                  {data.signingKeys.map((k) => (
                    <tr key={k.kid} data-testid="signing-key-row">
                      <td><code>{k.kid}</code></td>
                      <td>{k.alg ?? "unreadable"}</td>
                      <td><SigningUse k={k} /></td>
                      <td>{formatDate(k.createdAt)}</td>
                      <td>{formatDate(k.activatedAt ?? k.activatesAt)}</td>
                      <td>{k.publishUntil ? formatDate(k.publishUntil) : k.published ? "while it signs" : "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        </>
      ) : null}
    </>
  );
}
