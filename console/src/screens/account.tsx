/**
 * The signed-in user's own account: profile, password and MFA, sessions,
 * API keys, usage against the plan, consents, data export and deletion.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, download, saveBlob, type PublicUser } from "../api";
import { useSession } from "../session";
import { Confirm, ErrorNote, Field, formatDate, Loading, Notice, onSubmit } from "../ui";

export function Profile() {
  const session = useSession();
  const user = session.user!;
  const [name, setName] = useState(user.name ?? "");
  const save = useMutation({
    mutationFn: () => api<{ user: PublicUser }>("PATCH", "/v1/me", { name: name.trim() === "" ? null : name.trim() }),
    onSuccess: (d) => session.updateUser(d.user),
  });
  return (
    <section className="card">
      <h1>Profile</h1>
      <dl className="facts">
        <dt>Email</dt>
        <dd>
          {user.email} {user.emailVerified ? <span className="badge ok">verified</span> : <span className="badge warn">not verified</span>}
        </dd>
        <dt>Name</dt>
        <dd data-testid="profile-name">{user.name ?? "—"}</dd>
        <dt>Roles</dt>
        <dd>{user.roles.join(", ")}</dd>
        <dt>Two-step verification</dt>
        <dd>{user.mfaEnabled ? "on" : "off"}</dd>
        <dt>Member since</dt>
        <dd>{formatDate(user.createdAt)}</dd>
      </dl>
      <form onSubmit={onSubmit(() => save.mutate())}>
        <Field label="Display name" name="name" maxLength={200} value={name} onChange={(e) => setName(e.target.value)} hint="Leave empty to remove it." />
        <ErrorNote error={save.error} />
        {save.isSuccess ? <Notice>Saved.</Notice> : null}
        <div className="actions">
          <button className="primary" type="submit" disabled={save.isPending}>
            Save
          </button>
        </div>
      </form>
    </section>
  );
}

export function Security() {
  return (
    <>
      <h1 className="page-title">Password &amp; two-step verification</h1>
      <ChangePassword />
      <Mfa />
    </>
  );
}

function ChangePassword() {
  const { user } = useSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [code, setCode] = useState("");
  const change = useMutation({
    mutationFn: () => api<{ sessionsRevoked: number }>("POST", "/v1/auth/password/change", { currentPassword: current, newPassword: next, ...(user?.mfaEnabled ? { code: code.trim() } : {}) }),
    onSuccess: () => {
      setCurrent("");
      setNext("");
      setCode("");
    },
  });
  return (
    <section className="card">
      <h2>Change password</h2>
      <form onSubmit={onSubmit(() => change.mutate())}>
        <Field label="Current password" name="current-password" type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
        <Field label="New password" name="new-password" type="password" autoComplete="new-password" required minLength={12} maxLength={128} value={next} onChange={(e) => setNext(e.target.value)} />
        {user?.mfaEnabled ? <Field label="Verification code" name="code" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} /> : null}
        <ErrorNote error={change.error} />
        {change.data ? <Notice>Password changed. {change.data.sessionsRevoked} other session(s) were signed out.</Notice> : null}
        <div className="actions">
          <button className="primary" type="submit" disabled={change.isPending}>
            Change password
          </button>
        </div>
      </form>
    </section>
  );
}

function BackupCodes({ codes }: { codes: string[] }) {
  const save = () => saveBlob(new Blob([`Rampart backup codes (each works once)\n\n${codes.join("\n")}\n`], { type: "text/plain" }), "rampart-backup-codes.txt");
  return (
    <div className="note ok" role="status">
      <p>
        <strong>Your backup codes.</strong> Each works once when you cannot use your authenticator app. They are shown only now: download or copy them and keep them somewhere safe.
      </p>
      <ul className="codes" data-testid="backup-codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <button type="button" onClick={save}>
        Download backup codes
      </button>
    </div>
  );
}

function Mfa() {
  const session = useSession();
  const user = session.user!;
  const [enrolment, setEnrolment] = useState<{ secret: string; qrCode: string } | null>(null);
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  const [codes, setCodes] = useState<string[] | null>(null);
  const setMfa = (on: boolean) => session.updateUser({ ...user, mfaEnabled: on });
  const enrol = useMutation({
    mutationFn: () => api<{ secret: string; otpauthUrl: string; qrCode: string }>("POST", "/v1/auth/mfa/totp/enroll"),
    onSuccess: (d) => {
      setCodes(null);
      setEnrolment(d);
    },
  });
  const confirm = useMutation({
    mutationFn: () => api<{ backupCodes: string[] }>("POST", "/v1/auth/mfa/totp/confirm", { code: code.trim() }),
    onSuccess: (d) => {
      setEnrolment(null);
      setCode("");
      setCodes(d.backupCodes);
      setMfa(true);
    },
  });
  const disable = useMutation({
    mutationFn: () => api("POST", "/v1/auth/mfa/totp/disable", { password, code: code.trim() }),
    onSuccess: () => {
      setPassword("");
      setCode("");
      setCodes(null);
      setMfa(false);
    },
  });
  const regenerate = useMutation({
    mutationFn: () => api<{ backupCodes: string[] }>("POST", "/v1/auth/mfa/backup-codes/regenerate", { code: code.trim() }),
    onSuccess: (d) => {
      setCode("");
      setCodes(d.backupCodes);
    },
  });
  return (
    <section className="card">
      <h2>Two-step verification (TOTP)</h2>
      {codes ? <BackupCodes codes={codes} /> : null}
      {!user.mfaEnabled && !enrolment ? (
        <>
          <p>Off. With it on, signing in also asks for a code from an authenticator app (Google Authenticator, 1Password, Aegis…).</p>
          <ErrorNote error={enrol.error} />
          <button className="primary" type="button" onClick={() => enrol.mutate()} disabled={enrol.isPending}>
            Set up two-step verification
          </button>
        </>
      ) : null}
      {enrolment ? (
        <form onSubmit={onSubmit(() => confirm.mutate())}>
          <p>Scan this QR code with your authenticator app, then enter the code it shows.</p>
          {enrolment.qrCode.startsWith("data:image/") ? <img className="qr" src={enrolment.qrCode} alt="QR code of the TOTP secret for your authenticator app" width={200} height={200} data-testid="totp-qr" /> : null}
          <p>
            Cannot scan? Enter this key by hand: <code className="secret">{enrolment.secret}</code>
          </p>
          <Field label="Code from the app" name="code" autoComplete="one-time-code" inputMode="numeric" required value={code} onChange={(e) => setCode(e.target.value)} />
          <ErrorNote error={confirm.error} />
          <div className="actions">
            <button type="button" onClick={() => setEnrolment(null)}>
              Cancel
            </button>
            <button className="primary" type="submit" disabled={confirm.isPending}>
              Turn on
            </button>
          </div>
        </form>
      ) : null}
      {user.mfaEnabled ? (
        <>
          <p>
            <span className="badge ok">On</span> Signing in asks for a code from your authenticator app.
          </p>
          <form onSubmit={onSubmit(() => regenerate.mutate())}>
            <h3>New backup codes</h3>
            <p>Replaces every backup code you have.</p>
            <Field label="Code from the app" name="regen-code" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} />
            <ErrorNote error={regenerate.error} />
            <button type="submit" disabled={regenerate.isPending}>
              Make new backup codes
            </button>
          </form>
          <form onSubmit={onSubmit(() => disable.mutate())}>
            <h3>Turn off</h3>
            <Field label="Password" name="mfa-password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
            <Field label="Code from the app or a backup code" name="disable-code" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} />
            <ErrorNote error={disable.error} />
            <button type="submit" className="danger" disabled={disable.isPending}>
              Turn off two-step verification
            </button>
          </form>
        </>
      ) : null}
    </section>
  );
}

interface SessionRow {
  id: string;
  current: boolean;
  ip: string | null;
  userAgent: string | null;
  mfa: boolean;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
}

export function Sessions() {
  const qc = useQueryClient();
  const list = useQuery({ queryKey: ["sessions"], queryFn: () => api<{ sessions: SessionRow[] }>("GET", "/v1/auth/sessions") });
  const revoke = useMutation({
    mutationFn: async (ids: string[]) => {
      for (const id of ids) await api("DELETE", `/v1/auth/sessions/${encodeURIComponent(id)}`);
      return ids.length;
    },
    onSettled: () => qc.invalidateQueries({ queryKey: ["sessions"] }),
  });
  if (list.isPending) return <Loading />;
  const sessions = list.data?.sessions ?? [];
  const others = sessions.filter((s) => !s.current).map((s) => s.id);
  return (
    <section className="card">
      <h1>Sessions</h1>
      <p>Every place you are signed in. Signing a session out ends it at once, on every server.</p>
      <ErrorNote error={list.error ?? revoke.error} />
      {revoke.isSuccess ? <Notice>{revoke.data} session(s) signed out.</Notice> : null}
      <div className="table-wrap" tabIndex={0} role="region" aria-label="Your sessions">
        <table>
          <caption className="sr-only">Your sessions</caption>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">IP</th>
              <th scope="col">Signed in</th>
              <th scope="col">Last used</th>
              <th scope="col"><span className="sr-only">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={s.id} data-testid="session-row">
                <td>
                  {s.userAgent ?? "unknown"} {s.current ? <span className="badge ok">this one</span> : null} {s.mfa ? <span className="badge">MFA</span> : null}
                </td>
                <td>{s.ip ?? "—"}</td>
                <td>{formatDate(s.createdAt)}</td>
                <td>{formatDate(s.lastUsedAt)}</td>
                <td>
                  {s.current ? null : (
                    <button type="button" onClick={() => revoke.mutate([s.id])} disabled={revoke.isPending}>
                      Sign out this one
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="actions">
        <button type="button" className="danger" onClick={() => revoke.mutate(others)} disabled={others.length === 0 || revoke.isPending}>
          Sign out all others
        </button>
      </div>
    </section>
  );
}

interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

const USER_SCOPES = ["me:read", "me:write", "me:export", "sessions:read", "sessions:write", "api-keys:read", "api-keys:write", "mfa:write", "files:read", "files:write"];

export function ApiKeys() {
  const qc = useQueryClient();
  const { user } = useSession();
  const list = useQuery({ queryKey: ["api-keys"], queryFn: () => api<{ apiKeys: ApiKeyRow[] }>("GET", "/v1/api-keys") });
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(["me:read"]);
  const [expires, setExpires] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [created, setCreated] = useState<string | null>(null);
  const [toRevoke, setToRevoke] = useState<ApiKeyRow | null>(null);
  const needsProof = scopes.some((s) => s.endsWith(":write"));
  const create = useMutation({
    mutationFn: () =>
      api<ApiKeyRow & { key: string }>("POST", "/v1/api-keys", {
        name: name.trim(),
        scopes,
        ...(expires ? { expiresAt: new Date(`${expires}T23:59:59`).toISOString() } : {}),
        ...(needsProof ? { password, ...(user?.mfaEnabled ? { code: code.trim() } : {}) } : {}),
      }),
    onSuccess: (d) => {
      setCreated(d.key);
      setName("");
      setPassword("");
      setCode("");
    },
    onSettled: () => qc.invalidateQueries({ queryKey: ["api-keys"] }),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api("DELETE", `/v1/api-keys/${encodeURIComponent(id)}`),
    onSuccess: () => setToRevoke(null),
    onSettled: () => qc.invalidateQueries({ queryKey: ["api-keys"] }),
  });
  const toggle = (s: string) => setScopes((cur) => (cur.includes(s) ? cur.filter((x) => x !== s) : [...cur, s]));
  return (
    <>
      <h1 className="page-title">API keys</h1>
      <section className="card">
        <h2>New key</h2>
        {created ? (
          <div className="note ok" role="status">
            <p>
              <strong>Your new key.</strong> Copy it now: it is shown only once.
            </p>
            <p>
              <code className="secret" data-testid="new-api-key">{created}</code>
            </p>
            <button type="button" onClick={() => setCreated(null)}>
              I have stored it
            </button>
          </div>
        ) : null}
        <form onSubmit={onSubmit(() => create.mutate())}>
          <Field label="Name" name="key-name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
          <fieldset>
            <legend>Scopes</legend>
            <div className="checks">
              {USER_SCOPES.map((s) => (
                <label key={s}>
                  <input type="checkbox" checked={scopes.includes(s)} onChange={() => toggle(s)} /> {s}
                </label>
              ))}
            </div>
          </fieldset>
          <Field label="Expires on (optional)" name="expires" type="date" value={expires} onChange={(e) => setExpires(e.target.value)} />
          {needsProof ? (
            <>
              <p className="hint">A key that can write needs your password{user?.mfaEnabled ? " and a verification code" : ""}.</p>
              <Field label="Password" name="key-password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
              {user?.mfaEnabled ? <Field label="Verification code" name="key-code" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} /> : null}
            </>
          ) : null}
          <ErrorNote error={create.error} />
          <div className="actions">
            <button className="primary" type="submit" disabled={create.isPending || scopes.length === 0}>
              Create key
            </button>
          </div>
        </form>
      </section>
      <section className="card">
        <h2>Your keys</h2>
        {list.isPending ? <Loading /> : null}
        <ErrorNote error={list.error ?? revoke.error} />
        {list.data && list.data.apiKeys.length === 0 ? <p>No API keys.</p> : null}
        {list.data && list.data.apiKeys.length > 0 ? (
          <div className="table-wrap" tabIndex={0} role="region" aria-label="Your API keys">
            <table>
              <caption className="sr-only">Your API keys</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Prefix</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Last used</th>
                  <th scope="col"><span className="sr-only">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {list.data.apiKeys.map((k) => (
                  <tr key={k.id} data-testid="api-key-row">
                    <td>{k.name}</td>
                    <td><code>{k.prefix}</code></td>
                    <td>{k.scopes.join(", ")}</td>
                    <td>{k.expiresAt ? formatDate(k.expiresAt) : "never"}</td>
                    <td>{k.lastUsedAt ? formatDate(k.lastUsedAt) : "never"}</td>
                    <td>
                      <button type="button" className="danger" onClick={() => setToRevoke(k)}>
                        Revoke
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
      <Confirm open={toRevoke !== null} title={`Revoke the key “${toRevoke?.name ?? ""}”?`} confirmLabel="Revoke key" danger busy={revoke.isPending} onConfirm={() => toRevoke && revoke.mutate(toRevoke.id)} onCancel={() => setToRevoke(null)}>
        <p>Programs using it stop working at once. Keys it created are revoked too.</p>
      </Confirm>
    </>
  );
}

interface MeterState {
  meter: string;
  period: string;
  used: number;
  limit: number | null;
  resetsAt: string;
}

export function Usage() {
  const usage = useQuery({ queryKey: ["usage"], queryFn: () => api<{ plan: string; meters: MeterState[] }>("GET", "/v1/me/usage") });
  if (usage.isPending) return <Loading />;
  return (
    <section className="card">
      <h1>Usage</h1>
      <ErrorNote error={usage.error} />
      {usage.data ? (
        <>
          <p>
            Plan: <strong data-testid="plan">{usage.data.plan}</strong>
          </p>
          <ul className="meters">
            {usage.data.meters.map((m) => (
              <li key={`${m.meter}-${m.period}`}>
                <span className="meter-name">
                  {m.meter} this {m.period}
                </span>
                {m.limit === null ? (
                  <span>{m.used.toLocaleString()} used (unlimited)</span>
                ) : (
                  <>
                    <meter min={0} max={m.limit} value={m.used} high={m.limit * 0.8} aria-label={`${m.meter} per ${m.period}`} />
                    <span>
                      {m.used.toLocaleString()} of {m.limit.toLocaleString()} — resets {formatDate(m.resetsAt)}
                    </span>
                  </>
                )}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}

interface Consent {
  purpose: string;
  granted: boolean;
  policyVersion: string | null;
  updatedAt: string | null;
}

export function Privacy() {
  const qc = useQueryClient();
  const session = useSession();
  const consents = useQuery({ queryKey: ["consents"], queryFn: () => api<{ consents: Consent[] }>("GET", "/v1/me/consents") });
  const setConsent = useMutation({
    mutationFn: (c: { purpose: string; granted: boolean }) => api("PUT", `/v1/me/consents/${encodeURIComponent(c.purpose)}`, { granted: c.granted }),
    // The box shows the choice at once; a refusal puts the server's state back (and shows the error).
    onMutate: async (c) => {
      await qc.cancelQueries({ queryKey: ["consents"] });
      const before = qc.getQueryData<{ consents: Consent[] }>(["consents"]);
      if (before) qc.setQueryData(["consents"], { consents: before.consents.map((x) => (x.purpose === c.purpose ? { ...x, granted: c.granted } : x)) });
      return { before };
    },
    onError: (_err, _c, context) => {
      if (context?.before) qc.setQueryData(["consents"], context.before);
    },
    onSettled: () => qc.invalidateQueries({ queryKey: ["consents"] }),
  });
  const exportData = useMutation({ mutationFn: (format: "json" | "zip") => download(`/v1/me/export?format=${format}`, `rampart-export.${format}`) });
  const [deleting, setDeleting] = useState(false);
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const erase = useMutation({
    mutationFn: () => api("DELETE", "/v1/me", { password, ...(session.user?.mfaEnabled ? { code: code.trim() } : {}) }),
    onSuccess: () => {
      qc.clear();
      session.signedOut("Your account and its data have been deleted.");
    },
  });
  return (
    <>
      <h1 className="page-title">Privacy &amp; data</h1>
      <section className="card">
        <h2>Consents</h2>
        <ErrorNote error={consents.error ?? setConsent.error} />
        {consents.data ? (
          <ul className="consents">
            {consents.data.consents.map((c) => (
              <li key={c.purpose}>
                <label>
                  <input type="checkbox" checked={c.granted} disabled={setConsent.isPending} onChange={(e) => setConsent.mutate({ purpose: c.purpose, granted: e.target.checked })} /> {c.purpose}
                </label>
                <small className="hint"> {c.updatedAt ? `changed ${formatDate(c.updatedAt)} (policy ${c.policyVersion ?? "?"})` : "never given"}</small>
              </li>
            ))}
          </ul>
        ) : (
          <Loading />
        )}
      </section>
      <section className="card">
        <h2>Export your data</h2>
        <p>Everything Rampart holds about you: profile, sessions, keys, consents, audit entries, files.</p>
        <ErrorNote error={exportData.error} />
        <div className="actions start">
          <button type="button" onClick={() => exportData.mutate("json")} disabled={exportData.isPending}>
            Download JSON
          </button>
          <button type="button" onClick={() => exportData.mutate("zip")} disabled={exportData.isPending}>
            Download zip (with files)
          </button>
        </div>
      </section>
      <section className="card danger-zone">
        <h2>Delete your account</h2>
        <p>Erases your account and every piece of data it holds. This cannot be undone.</p>
        <button type="button" className="danger" onClick={() => setDeleting(true)}>
          Delete my account…
        </button>
      </section>
      <Confirm open={deleting} title="Delete your account for good?" confirmLabel="Delete my account" danger busy={erase.isPending} onConfirm={() => erase.mutate()} onCancel={() => setDeleting(false)}>
        <p>Enter your password to confirm{session.user?.mfaEnabled ? ", and a verification code" : ""}.</p>
        <Field label="Password" name="delete-password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        {session.user?.mfaEnabled ? <Field label="Verification code" name="delete-code" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} /> : null}
        <ErrorNote error={erase.error} />
      </Confirm>
    </>
  );
}
