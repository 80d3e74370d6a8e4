/**
 * Small building blocks shared by the screens: labelled fields, error notes
 * that say what to do next (and carry the trace id), a confirmation dialog,
 * the offline banner and the error boundary. Text only: nothing the API
 * returns is ever rendered as HTML.
 */
import { Component, useEffect, useId, useRef, useState, type ErrorInfo, type FormEvent, type InputHTMLAttributes, type ReactNode } from "react";
import { ApiError } from "./api";

/** What an error means for the person in front of the screen, and what to do about it. */
export function explain(err: unknown): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : "Something went wrong.";
  const wait = err.retryAfter !== undefined ? waitText(err.retryAfter) : undefined;
  switch (err.code) {
    case "INVALID_CREDENTIALS":
      return "The email or password is incorrect. Check both and try again; after 5 failed attempts the account is locked for 15 minutes.";
    case "ACCOUNT_LOCKED":
      return `Too many failed sign-ins: this account is locked${wait ? ` for ${wait}` : ""}. Wait, reset your password, or ask an administrator to unlock it.`;
    case "MFA_LOCKED":
      return `Too many wrong codes: the second factor is locked${wait ? ` for ${wait}` : ""}. Wait, or ask an administrator to unlock it.`;
    case "RATE_LIMITED":
      return `Too many requests from here. Try again${wait ? ` in ${wait}` : " in a minute"}.`;
    case "QUOTA_EXCEEDED":
      return `Your plan's quota is used up${wait ? `; it resets in ${wait}` : ""}. See Usage.`;
    case "INVALID_MFA_CODE":
      return "That code is not valid. Enter the current 6-digit code from your authenticator app, or an unused backup code.";
    case "EMAIL_NOT_VERIFIED":
      return "Verify your email address first: open the link we sent you (or send a new one below).";
    case "TOKEN_EXPIRED":
    case "TOKEN_REVOKED":
    case "REFRESH_TOKEN_REUSED":
      return "Your session has ended. Sign in again.";
    case "NETWORK":
      return err.message;
    case "VALIDATION_FAILED": {
      const fields = (err.details?.fields as { path: string; message: string }[] | undefined) ?? [];
      return fields.length > 0 ? `${err.message} ${fields.map((f) => `${f.path.replace(/^body\./, "")} ${f.message}`).join("; ")}.` : err.message;
    }
    default:
      return err.message;
  }
}

function waitText(seconds: number): string {
  if (seconds < 90) return `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

/** An error message with its trace id, announced to screen readers. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const trace = error instanceof ApiError ? error.traceId : undefined;
  return (
    <div className="note error" role="alert">
      <p>{explain(error)}</p>
      {trace ? (
        <p className="trace">
          Trace id: <code>{trace}</code>
        </p>
      ) : null}
    </div>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <div className="note ok" role="status">
      {children}
    </div>
  );
}

type FieldProps = { label: string; hint?: string } & InputHTMLAttributes<HTMLInputElement>;

/** A labelled input (the label is a real <label>, the hint is its description). */
export function Field({ label, hint, ...input }: FieldProps) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} {...input} {...(hint ? { "aria-describedby": `${id}-hint` } : {})} />
      {hint ? (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      ) : null}
    </div>
  );
}

/** Prevents the page reload of a form submission and runs `fn`. */
export const onSubmit = (fn: () => void) => (e: FormEvent) => {
  e.preventDefault();
  fn();
};

/**
 * A modal confirmation (the native <dialog>: focus trapped, Escape closes).
 * `children` may hold extra fields (a reason, a password); `onConfirm` runs on
 * the confirming button.
 */
export function Confirm(props: { open: boolean; title: string; confirmLabel: string; danger?: boolean; busy?: boolean; onConfirm: () => void; onCancel: () => void; children?: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} aria-labelledby={titleId} onCancel={props.onCancel} onClose={props.onCancel}>
      <form onSubmit={onSubmit(props.onConfirm)}>
        <h2 id={titleId}>{props.title}</h2>
        {props.children}
        <div className="actions">
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
          <button type="submit" className={props.danger ? "danger" : "primary"} disabled={props.busy}>
            {props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** A banner while the browser reports no network (navigator.onLine and its events). */
export function OfflineBanner() {
  const [online, setOnline] = useState(() => navigator.onLine);
  useEffect(() => {
    const up = () => setOnline(true);
    const down = () => setOnline(false);
    window.addEventListener("online", up);
    window.addEventListener("offline", down);
    return () => {
      window.removeEventListener("online", up);
      window.removeEventListener("offline", down);
    };
  }, []);
  if (online) return null;
  return (
    <div className="offline" role="status">
      You are offline. Changes cannot be saved until the connection is back.
    </div>
  );
}

/** Catches a screen that failed to render or to load, and shows the trace id of the failing request. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: string }, { error: unknown }> {
  override state: { error: unknown } = { error: null };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  override componentDidCatch(error: unknown, info: ErrorInfo) {
    // Kept for the developer tools; the screen shows what the user needs.
    console.error(error, info.componentStack);
  }
  override componentDidUpdate(prev: { resetKey?: string }) {
    if (prev.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: null });
  }
  override render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    const trace = error instanceof ApiError ? error.traceId : undefined;
    return (
      <section className="card" role="alert" aria-labelledby="boundary-title">
        <h2 id="boundary-title">This screen could not be shown</h2>
        <p>{explain(error)}</p>
        {trace ? (
          <p className="trace">
            Trace id of the failing request: <code data-testid="trace-id">{trace}</code> — give it to your administrator; it finds the request in the server&apos;s logs.
          </p>
        ) : null}
        <button type="button" onClick={() => this.setState({ error: null })}>
          Try again
        </button>
      </section>
    );
  }
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function Loading() {
  return (
    <p className="loading" role="status">
      Loading…
    </p>
  );
}
