/**
 * Administration (shown to admins; the server checks every permission):
 * users, the audit log with its chain verification, the usage dashboard and
 * the inbound-webhook inbox. Every action on a user is confirmed first.
 */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useMemo, useState, type ChangeEvent, type ReactNode } from "react";
import { useSearchParams } from "react-router";
import { api, download, type PublicUser } from "../api";
import { BarChart } from "../chart";
import { useSession } from "../session";
import { Confirm, ErrorNote, Field, formatDate, Loading, Notice, onSubmit } from "../ui";

/** A user as the admin list shows it: the public profile plus its state. */
interface AdminUser extends PublicUser {
  status: string;
  updatedAt: string;
  locked: boolean;
}

type Action = "unlock" | "disable" | "sessions" | "roles" | "plan" | "erase";

const ACTION_TITLES: Record<Action, string> = {
  unlock: "Unlock this account?",
  disable: "Disable this account?",
  sessions: "Sign this user out everywhere?",
  roles: "Change this user's roles?",
  plan: "Change this user's plan?",
  erase: "Erase this user and all their data?",
};

/** The Users screen's filters as they appear in its URL (`?role=admin&status=active…`), so a filtered view can be linked. */
const USER_FILTERS = ["email", "role", "status", "mfa", "plan", "from", "to"] as const;
type UserFilterName = (typeof USER_FILTERS)[number];
type UserFilterValues = Record<UserFilterName, string>;

/** The API query of the filters: `from`/`to` are whole days (UTC), `to` included. */
function usersQuery(f: UserFilterValues, cursor: string | undefined): string {
  const p = new URLSearchParams({ limit: "20" });
  for (const k of ["email", "role", "status", "mfa", "plan"] as const) if (f[k]) p.set(k, f[k]);
  if (f.from) p.set("createdAfter", `${f.from}T00:00:00.000Z`);
  if (f.to) p.set("createdBefore", new Date(Date.parse(`${f.to}T00:00:00.000Z`) + 86_400_000).toISOString());
  if (cursor) p.set("cursor", cursor);
  return p.toString();
}

export function AdminUsers() {
  const [params, setParams] = useSearchParams();
  const filters = Object.fromEntries(USER_FILTERS.map((k) => [k, params.get(k) ?? ""])) as UserFilterValues;
  const filterKey = USER_FILTERS.map((k) => filters[k]).join("\u0000");
  // A cursor is valid only with the filters it came with: the pages start again when they change.
  const [paging, setPaging] = useState<{ key: string; cursors: string[] }>({ key: filterKey, cursors: [] });
  const cursors = paging.key === filterKey ? paging.cursors : [];
  const cursor = cursors.at(-1);
  const qs = usersQuery(filters, cursor);
  const query = useQuery({
    queryKey: ["admin-users", qs],
    queryFn: () => api<{ users: AdminUser[]; nextCursor: string | null }>("GET", `/v1/admin/users?${qs}`),
    placeholderData: keepPreviousData,
  });
  const filtered = USER_FILTERS.some((k) => filters[k] !== "");
  const apply = (next: UserFilterValues) => {
    const out = new URLSearchParams();
    for (const k of USER_FILTERS) if (next[k].trim()) out.set(k, next[k].trim());
    setParams(out);
  };
  const selectedId = params.get("user");
  const selected = query.data?.users.find((u) => u.id === selectedId) ?? null;
  const select = (id: string | null) => {
    const next = new URLSearchParams(params);
    if (id) next.set("user", id);
    else next.delete("user");
    setParams(next);
  };
  return (
    <>
      <h1 className="page-title">Users</h1>
      <section className="card">
        <UserFilterForm key={filterKey} initial={filters} filtered={filtered} onApply={apply} />
        <ErrorNote error={query.error} />
        {query.isPending ? <Loading /> : null}
        {query.data ? (
          <>
            <div className="table-wrap" tabIndex={0} role="region" aria-label="Users">
              <table>
                <caption className="sr-only">{filtered ? "Users matching the filters" : "Users"}</caption>
                <thead>
                  <tr>
                    <th scope="col">Email</th>
                    <th scope="col">Name</th>
                    <th scope="col">Roles</th>
                    <th scope="col">Status</th>
                    <th scope="col">Created</th>
                    <th scope="col"><span className="sr-only">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  {query.data.users.map((u) => (
                    <tr key={u.id} data-testid="user-row" aria-selected={u.id === selectedId}>
                      <td>{u.email}</td>
                      <td>{u.name ?? "—"}</td>
                      <td>{u.roles.join(", ")}</td>
                      <td>
                        <StatusBadges user={u} />
                      </td>
                      <td>{formatDate(u.createdAt)}</td>
                      <td>
                        <button type="button" onClick={() => select(u.id)} aria-label={`Manage ${u.email}`}>
                          Manage
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {query.data.users.length === 0 ? <p>No user matches.</p> : null}
            <div className="actions start">
              <button type="button" disabled={cursors.length === 0} onClick={() => setPaging({ key: filterKey, cursors: cursors.slice(0, -1) })}>
                Previous page
              </button>
              <button type="button" disabled={!query.data.nextCursor} onClick={() => query.data?.nextCursor && setPaging({ key: filterKey, cursors: [...cursors, query.data.nextCursor] })}>
                Next page
              </button>
            </div>
          </>
        ) : null}
      </section>
      {selectedId && query.data && !selected ? (
        <section className="card">
          <p>That user is not on this page; find them by email.</p>
        </section>
      ) : null}
      {selected ? <UserDetail user={selected} onClose={() => select(null)} /> : null}
    </>
  );
}

/** The search (one exact email) and the filters; applied together on submit. */
function UserFilterForm({ initial, filtered, onApply }: { initial: UserFilterValues; filtered: boolean; onApply: (f: UserFilterValues) => void }) {
  const [draft, setDraft] = useState(initial);
  const set = (k: UserFilterName) => (e: ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setDraft({ ...draft, [k]: e.target.value });
  const empty = Object.fromEntries(USER_FILTERS.map((k) => [k, ""])) as UserFilterValues;
  return (
    <form className="filters" role="search" aria-label="Find users" onSubmit={onSubmit(() => onApply(draft))}>
      <Field
        label="Email (exact match)"
        name="email"
        type="email"
        value={draft.email}
        onChange={set("email")}
        hint="Emails are stored encrypted, so only the whole address finds a user: no partial or fuzzy search."
      />
      <Field label="Role" name="role" maxLength={64} pattern="[a-z][a-z0-9_\-]*" value={draft.role} onChange={set("role")} hint="e.g. admin or user" />
      <SelectField label="Status" name="status" value={draft.status} onChange={set("status")} options={[["", "any"], ["active", "active"], ["disabled", "disabled"]]} />
      <SelectField label="MFA" name="mfa" value={draft.mfa} onChange={set("mfa")} options={[["", "any"], ["true", "enrolled"], ["false", "not enrolled"]]} />
      <Field label="Plan" name="plan" maxLength={50} pattern="[a-z0-9][a-z0-9_\-]*" value={draft.plan} onChange={set("plan")} hint="e.g. free" />
      <Field label="Created from" name="from" type="date" value={draft.from} onChange={set("from")} hint="UTC day, included" />
      <Field label="Created to" name="to" type="date" value={draft.to} onChange={set("to")} hint="UTC day, included" />
      <div className="actions start">
        <button type="submit">Search</button>
        {filtered ? (
          <button type="button" onClick={() => onApply(empty)}>
            Show all
          </button>
        ) : null}
      </div>
    </form>
  );
}

function SelectField({ label, name, value, onChange, options }: { label: string; name: string; value: string; onChange: (e: ChangeEvent<HTMLSelectElement>) => void; options: [string, string][] }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} name={name} value={value} onChange={onChange}>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}

function StatusBadges({ user }: { user: AdminUser }) {
  return (
    <>
      <span className={`badge ${user.status === "active" ? "ok" : "warn"}`}>{user.status}</span>
      {user.locked ? <span className="badge warn">locked</span> : null}
      {user.mfaEnabled ? <span className="badge">MFA</span> : null}
    </>
  );
}

function UserDetail({ user, onClose }: { user: AdminUser; onClose: () => void }) {
  const qc = useQueryClient();
  const me = useSession().user!;
  const self = me.id === user.id;
  const [action, setAction] = useState<Action | null>(null);
  const [roles, setRoles] = useState(user.roles.join(", "));
  const [plan, setPlan] = useState("");
  const [reason, setReason] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const id = encodeURIComponent(user.id);
  const proof = self ? { password, ...(me.mfaEnabled && code ? { code: code.trim() } : {}) } : {};
  const run = useMutation({
    mutationFn: async (a: Action): Promise<string> => {
      switch (a) {
        case "unlock": {
          const r = await api<{ wasLocked: boolean }>("POST", `/v1/admin/users/${id}/unlock`, proof);
          return r.wasLocked ? "Unlocked." : "The account was not locked.";
        }
        case "disable": {
          const r = await api<{ sessionsRevoked: number }>("POST", `/v1/admin/users/${id}/disable`, proof);
          return `Disabled; ${r.sessionsRevoked} session(s) ended.`;
        }
        case "sessions": {
          const r = await api<{ sessionsRevoked: number }>("DELETE", `/v1/admin/users/${id}/sessions`);
          return `${r.sessionsRevoked} session(s) ended.`;
        }
        case "roles": {
          const list = roles.split(/[\s,]+/).filter(Boolean);
          await api("PUT", `/v1/admin/users/${id}/roles`, { roles: list, ...proof });
          return `Roles are now ${list.join(", ")}; the user's sessions were ended.`;
        }
        case "plan": {
          const r = await api<{ plan: string }>("PUT", `/v1/admin/users/${id}/plan`, { plan: plan.trim() });
          return `Plan is now ${r.plan}.`;
        }
        case "erase": {
          await api("DELETE", `/v1/admin/users/${id}`, { reason: reason.trim(), ...proof });
          return "Erased.";
        }
      }
    },
    onSuccess: (message, a) => {
      setDone(message);
      setAction(null);
      setPassword("");
      setCode("");
      if (a === "erase") onClose();
    },
    onSettled: () => qc.invalidateQueries({ queryKey: ["admin-users"] }),
  });
  const exportUser = useMutation({ mutationFn: (format: "json" | "zip") => download(`/v1/admin/users/${id}/export?format=${format}`, `rampart-export-${user.id}.${format}`) });
  const ask = (a: Action) => {
    run.reset();
    setDone(null);
    setAction(a);
  };
  const extra: Partial<Record<Action, ReactNode>> = {
    roles: <Field label="Roles (comma-separated)" name="roles" required value={roles} onChange={(e) => setRoles(e.target.value)} />,
    plan: <Field label="Plan name" name="plan" required pattern="[a-z0-9][a-z0-9_-]*" maxLength={50} value={plan} onChange={(e) => setPlan(e.target.value)} hint="A plan of RAMPART_PLANS, e.g. free." />,
    erase: <Field label="Reason (kept in the audit log)" name="reason" required minLength={3} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />,
  };
  const needsProof = self && action !== null && action !== "sessions" && action !== "plan";
  return (
    <section className="card" aria-labelledby="user-detail-title" data-testid="user-detail">
      <div className="heading-row">
        <h2 id="user-detail-title">{user.email}</h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <dl className="facts">
        <dt>Id</dt>
        <dd><code>{user.id}</code></dd>
        <dt>Name</dt>
        <dd>{user.name ?? "—"}</dd>
        <dt>Roles</dt>
        <dd data-testid="detail-roles">{user.roles.join(", ")}</dd>
        <dt>Status</dt>
        <dd data-testid="detail-status"><StatusBadges user={user} /></dd>
        <dt>Email verified</dt>
        <dd>{user.emailVerified ? "yes" : "no"}</dd>
        <dt>Updated</dt>
        <dd>{formatDate(user.updatedAt)}</dd>
      </dl>
      {done ? <Notice>{done}</Notice> : null}
      <ErrorNote error={exportUser.error} />
      <div className="actions start wrap">
        <button type="button" onClick={() => ask("unlock")}>Unlock</button>
        <button type="button" onClick={() => ask("sessions")}>Sign out everywhere</button>
        <button type="button" onClick={() => ask("roles")}>Change roles</button>
        <button type="button" onClick={() => ask("plan")}>Change plan</button>
        <button type="button" onClick={() => exportUser.mutate("json")}>Export JSON</button>
        <button type="button" onClick={() => exportUser.mutate("zip")}>Export zip</button>
        <button type="button" className="danger" onClick={() => ask("disable")} disabled={user.status !== "active"}>Disable</button>
        <button type="button" className="danger" onClick={() => ask("erase")}>Erase</button>
      </div>
      <Confirm
        open={action !== null}
        title={action ? ACTION_TITLES[action] : ""}
        confirmLabel={action === "erase" ? "Erase for good" : "Confirm"}
        danger={action === "erase" || action === "disable"}
        busy={run.isPending}
        onConfirm={() => action && run.mutate(action)}
        onCancel={() => setAction(null)}
      >
        <p>{user.email}</p>
        {action ? extra[action] : null}
        {needsProof ? (
          <>
            <p className="hint">This is your own account: confirm with your password{me.mfaEnabled ? " and a code" : ""}.</p>
            <Field label="Your password" name="proof-password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
            {me.mfaEnabled ? <Field label="Verification code" name="proof-code" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} /> : null}
          </>
        ) : null}
        <ErrorNote error={run.error} />
      </Confirm>
    </section>
  );
}

interface AuditEntry {
  seq: number;
  at: string;
  actor: { type: string; id: string | null };
  action: string;
  target: string | null;
  traceId: string | null;
  data: Record<string, unknown>;
  hash: string;
}

interface Verification {
  ok: boolean;
  entries: number;
  head?: { seq: number; hash: string };
  firstBadSeq?: number;
  reason?: string;
}

export function AdminAudit() {
  const [draft, setDraft] = useState({ actor: "", action: "", target: "", from: "", to: "" });
  const [filters, setFilters] = useState(draft);
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const qs = useMemo(() => {
    const p = new URLSearchParams({ limit: "50" });
    for (const [k, v] of Object.entries(filters)) if (v) p.set(k, k === "from" || k === "to" ? new Date(v).toISOString() : v);
    if (cursor) p.set("cursor", cursor);
    return p.toString();
  }, [filters, cursor]);
  const entries = useQuery({ queryKey: ["audit", qs], queryFn: () => api<{ entries: AuditEntry[]; nextCursor: string | null }>("GET", `/v1/admin/audit?${qs}`), placeholderData: keepPreviousData });
  const verify = useQuery({ queryKey: ["audit-verify"], queryFn: () => api<Verification>("GET", "/v1/admin/audit/verify") });
  const set = (k: keyof typeof draft) => (e: ChangeEvent<HTMLInputElement>) => setDraft({ ...draft, [k]: e.target.value });
  return (
    <>
      <h1 className="page-title">Audit log</h1>
      <section className="card">
        <h2>Chain verification</h2>
        {verify.isPending ? <Loading /> : null}
        <ErrorNote error={verify.error} />
        {verify.data ? (
          <p data-testid="chain-status">
            {verify.data.ok ? <span className="badge ok">chain intact</span> : <span className="badge bad">chain broken</span>} {verify.data.entries} entries checked
            {verify.data.head ? `; head ${verify.data.head.seq}:${verify.data.head.hash.slice(0, 16)}…` : ""}
            {verify.data.ok ? "" : `; first bad entry ${verify.data.firstBadSeq ?? "?"} (${verify.data.reason ?? "unknown reason"})`}
          </p>
        ) : null}
        <button type="button" onClick={() => void verify.refetch()} disabled={verify.isFetching}>
          Verify again
        </button>
      </section>
      <section className="card">
        <h2>Entries</h2>
        <form
          className="filters"
          onSubmit={onSubmit(() => {
            setCursors([]);
            setFilters(draft);
          })}
        >
          <Field label="Actor id" name="actor" maxLength={100} value={draft.actor} onChange={set("actor")} />
          <Field label="Action" name="action" maxLength={100} value={draft.action} onChange={set("action")} hint="e.g. auth.login.failed" />
          <Field label="Target" name="target" maxLength={200} value={draft.target} onChange={set("target")} hint="e.g. user:<id>" />
          <Field label="From" name="from" type="datetime-local" value={draft.from} onChange={set("from")} />
          <Field label="To" name="to" type="datetime-local" value={draft.to} onChange={set("to")} />
          <div className="actions start">
            <button type="submit">Filter</button>
          </div>
        </form>
        <ErrorNote error={entries.error} />
        {entries.data ? (
          <>
            <div className="table-wrap" tabIndex={0} role="region" aria-label="Audit entries">
              <table>
                <caption className="sr-only">Audit entries, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">When</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Action</th>
                    <th scope="col">Target</th>
                    <th scope="col">Data</th>
                  </tr>
                </thead>
                <tbody>
                  {entries.data.entries.map((e) => (
                    <tr key={e.seq} data-testid="audit-row">
                      <td>{e.seq}</td>
                      <td>{formatDate(e.at)}</td>
                      <td>
                        {e.actor.type}
                        {e.actor.id ? `:${e.actor.id}` : ""}
                      </td>
                      <td>{e.action}</td>
                      <td>{e.target ?? "—"}</td>
                      <td>
                        <code className="data">{Object.keys(e.data).length > 0 ? JSON.stringify(e.data) : ""}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {entries.data.entries.length === 0 ? <p>No entry matches.</p> : null}
            <div className="actions start">
              <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
                Newer
              </button>
              <button type="button" disabled={!entries.data.nextCursor} onClick={() => entries.data?.nextCursor && setCursors((c) => [...c, entries.data.nextCursor!])}>
                Older
              </button>
            </div>
          </>
        ) : (
          <Loading />
        )}
      </section>
    </>
  );
}

interface TopConsumers {
  meter: string;
  period: string;
  periodStart: string;
  resetsAt: string;
  users: { userId: string; plan: string; used: number; limit: number | null }[];
}

export function AdminUsage() {
  const usage = useQuery({ queryKey: ["admin-usage"], queryFn: () => api<{ meters: TopConsumers[] }>("GET", "/v1/admin/usage?limit=10") });
  if (usage.isPending) return <Loading />;
  return (
    <>
      <h1 className="page-title">Usage dashboard</h1>
      <p>Top consumers of each meter in the current day and month (every instance writes its counts every few seconds).</p>
      <ErrorNote error={usage.error} />
      <div className="grid">
        {usage.data?.meters.map((m) => {
          const limits = new Set(m.users.map((u) => u.limit));
          // The plan's limit is drawn when usage comes near it; far above the bars it would flatten them.
          const shared = limits.size === 1 ? [...limits][0] : undefined;
          const limit = shared !== undefined && shared !== null && Math.max(...m.users.map((u) => u.used)) >= shared * 0.1 ? shared : undefined;
          return (
            <section className="card" key={`${m.meter}-${m.period}`}>
              <h2>
                {m.meter} — this {m.period}
              </h2>
              {m.users.length === 0 ? (
                <p>No usage yet in this {m.period}.</p>
              ) : (
                <>
                  <BarChart title={`${m.meter} per user, this ${m.period}`} data={{ labels: m.users.map((u) => u.userId.slice(0, 8)), values: m.users.map((u) => u.used), ...(limit !== undefined ? { limit } : {}) }} />
                  <div className="table-wrap" tabIndex={0} role="region" aria-label={`${m.meter}, this ${m.period}`}>
                    <table>
                      <caption className="sr-only">{`${m.meter}, this ${m.period}`}</caption>
                      <thead>
                        <tr>
                          <th scope="col">User</th>
                          <th scope="col">Plan</th>
                          <th scope="col">Used</th>
                          <th scope="col">Limit</th>
                        </tr>
                      </thead>
                      <tbody>
                        {m.users.map((u) => (
                          <tr key={u.userId}>
                            <td><code>{u.userId}</code></td>
                            <td>{u.plan}</td>
                            <td>{u.used.toLocaleString()}</td>
                            <td>{u.limit === null ? "unlimited" : u.limit.toLocaleString()}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                </>
              )}
              <p className="hint">Resets {formatDate(m.resetsAt)}</p>
            </section>
          );
        })}
      </div>
    </>
  );
}

interface WebhookEvent {
  id: string;
  endpoint: string;
  provider: string;
  eventId: string;
  type: string | null;
  state: string;
  attempts: number;
  lastError: string | null;
  receivedAt: string;
  nextAttemptAt: string;
  processedAt: string | null;
}

const STATES = ["", "received", "processing", "processed", "failed", "dead"];

export function AdminWebhooks() {
  const qc = useQueryClient();
  const [state, setState] = useState("dead");
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const list = useQuery({
    queryKey: ["webhooks", state, cursor],
    queryFn: () => api<{ events: WebhookEvent[]; nextCursor: string | null }>("GET", `/v1/admin/webhooks?limit=50${state ? `&state=${state}` : ""}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`),
    placeholderData: keepPreviousData,
  });
  const [toReplay, setToReplay] = useState<WebhookEvent | null>(null);
  const replay = useMutation({
    mutationFn: (id: string) => api<{ event: WebhookEvent }>("POST", `/v1/admin/webhooks/${encodeURIComponent(id)}/replay`),
    onSuccess: () => setToReplay(null),
    onSettled: () => qc.invalidateQueries({ queryKey: ["webhooks"] }),
  });
  return (
    <>
      <h1 className="page-title">Webhook inbox</h1>
      <section className="card">
        <div className="field">
          <label htmlFor="state-filter">State</label>
          <select
            id="state-filter"
            value={state}
            onChange={(e) => {
              setCursors([]);
              setState(e.target.value);
            }}
          >
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s === "" ? "all" : s === "dead" ? "dead letters" : s}
              </option>
            ))}
          </select>
        </div>
        <ErrorNote error={list.error ?? replay.error} />
        {replay.isSuccess ? <Notice>Queued for a new dispatch ({replay.data.event.state}).</Notice> : null}
        {list.data ? (
          <>
            <div className="table-wrap" tabIndex={0} role="region" aria-label="Webhook events">
              <table>
                <caption className="sr-only">Inbound webhook events</caption>
                <thead>
                  <tr>
                    <th scope="col">Received</th>
                    <th scope="col">Endpoint</th>
                    <th scope="col">Type</th>
                    <th scope="col">State</th>
                    <th scope="col">Attempts</th>
                    <th scope="col">Last error</th>
                    <th scope="col"><span className="sr-only">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  {list.data.events.map((e) => (
                    <tr key={e.id} data-testid="webhook-row">
                      <td>{formatDate(e.receivedAt)}</td>
                      <td>
                        {e.endpoint} <small>({e.provider})</small>
                      </td>
                      <td>{e.type ?? "—"}</td>
                      <td>
                        <span className={`badge ${e.state === "dead" ? "bad" : e.state === "processed" ? "ok" : ""}`}>{e.state}</span>
                      </td>
                      <td>{e.attempts}</td>
                      <td>{e.lastError ?? "—"}</td>
                      <td>
                        {e.state === "dead" || e.state === "failed" ? (
                          <button type="button" onClick={() => setToReplay(e)}>
                            Replay
                          </button>
                        ) : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {list.data.events.length === 0 ? <p>No events{state ? ` in state ${state}` : ""}.</p> : null}
            <div className="actions start">
              <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
                Newer
              </button>
              <button type="button" disabled={!list.data.nextCursor} onClick={() => list.data?.nextCursor && setCursors((c) => [...c, list.data.nextCursor!])}>
                Older
              </button>
            </div>
          </>
        ) : (
          <Loading />
        )}
      </section>
      <Confirm open={toReplay !== null} title="Replay this event?" confirmLabel="Replay" busy={replay.isPending} onConfirm={() => toReplay && replay.mutate(toReplay.id)} onCancel={() => setToReplay(null)}>
        <p>
          {toReplay?.endpoint} · {toReplay?.eventId}
        </p>
        <p>It is dispatched again to its handler with a fresh attempt budget.</p>
      </Confirm>
    </>
  );
}
