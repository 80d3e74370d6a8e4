/**
 * Screens before sign-in: sign-in (password, then the second factor when MFA
 * is on), registration, forgotten password, reset with the mailed token, and
 * email verification with the mailed token.
 */
import { useState, type ReactNode } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";
import { ApiError, publicApi, type SignedIn } from "../api";
import { useSession } from "../session";
import { ErrorNote, Field, Notice, onSubmit } from "../ui";

function AuthCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="auth" id="main">
      <section className="card">
        <h1>{title}</h1>
        {children}
      </section>
    </main>
  );
}

/** Where to go after sign-in: a path of this app only (never another origin). */
const safeNext = (next: string | null) => (next && next.startsWith("/") && !next.startsWith("//") && !next.includes("\\") ? next : "/");

type LoginAnswer = SignedIn | { mfaRequired: true; mfaToken: string };

export function SignIn() {
  const session = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [mfaToken, setMfaToken] = useState<string | null>(null);
  const [code, setCode] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [resent, setResent] = useState(false);
  if (session.user) return <Navigate to={safeNext(params.get("next"))} replace />;

  const done = (s: SignedIn) => {
    session.signedIn(s);
    navigate(safeNext(params.get("next")), { replace: true });
  };
  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      // An expired or spent challenge means starting over from the password.
      if (mfaToken && err instanceof ApiError && err.code === "UNAUTHENTICATED") {
        setMfaToken(null);
        setCode("");
        setError(new ApiError(401, "MFA_EXPIRED", "The sign-in step expired (codes must be entered within 5 minutes). Enter your password again.", err.traceId, undefined, undefined));
      } else setError(err);
    } finally {
      setBusy(false);
    }
  };
  const submitPassword = () =>
    run(async () => {
      const answer = await publicApi<LoginAnswer>("POST", "/v1/auth/login", { email, password });
      if ("mfaRequired" in answer) {
        setMfaToken(answer.mfaToken);
        setPassword("");
      } else done(answer);
    });
  const submitCode = () =>
    run(async () => {
      done(await publicApi<SignedIn>("POST", "/v1/auth/mfa/verify", { mfaToken, code: code.trim() }));
    });
  const resend = () =>
    run(async () => {
      await publicApi("POST", "/v1/auth/email/resend", { email });
      setResent(true);
    });

  if (mfaToken) {
    return (
      <AuthCard title="Two-step verification">
        <form onSubmit={onSubmit(submitCode)}>
          <p>Enter the 6-digit code from your authenticator app, or one of your backup codes.</p>
          <Field label="Verification code" name="code" autoComplete="one-time-code" inputMode="text" required minLength={6} maxLength={32} value={code} onChange={(e) => setCode(e.target.value)} autoFocus />
          <ErrorNote error={error} />
          <div className="actions">
            <button type="button" onClick={() => setMfaToken(null)}>
              Back
            </button>
            <button className="primary" type="submit" disabled={busy}>
              Verify
            </button>
          </div>
        </form>
      </AuthCard>
    );
  }
  return (
    <AuthCard title="Sign in to Rampart">
      {session.farewell ? <Notice>{session.farewell}</Notice> : null}
      <form onSubmit={onSubmit(submitPassword)}>
        <Field label="Email" name="email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <ErrorNote error={error} />
        {error instanceof ApiError && error.code === "EMAIL_NOT_VERIFIED" ? (
          resent ? (
            <Notice>If the account needs it, a new verification link is on its way.</Notice>
          ) : (
            <button type="button" onClick={resend}>
              Send a new verification link
            </button>
          )
        ) : null}
        <div className="actions">
          <button className="primary" type="submit" disabled={busy}>
            Sign in
          </button>
        </div>
      </form>
      <p className="links">
        <Link to="/forgot-password">Forgot your password?</Link> · <Link to="/register">Create an account</Link>
      </p>
    </AuthCard>
  );
}

export function Register() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      await publicApi("POST", "/v1/auth/register", { email, password });
      setDone(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (done) {
    return (
      <AuthCard title="Check your email">
        <Notice>
          <p>
            We have sent a message to <strong>{email}</strong>. If this address had no account yet, it has one now: follow the verification link in the message, then sign in.
          </p>
        </Notice>
        <p className="links">
          <Link to="/sign-in">Go to sign-in</Link>
        </p>
      </AuthCard>
    );
  }
  return (
    <AuthCard title="Create an account">
      <form onSubmit={onSubmit(submit)}>
        <Field label="Email" name="email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <Field label="Password" name="new-password" type="password" autoComplete="new-password" required minLength={12} maxLength={128} hint="At least 12 characters; a passphrase of several words is easiest." value={password} onChange={(e) => setPassword(e.target.value)} />
        <ErrorNote error={error} />
        <div className="actions">
          <button className="primary" type="submit" disabled={busy}>
            Create account
          </button>
        </div>
      </form>
      <p className="links">
        <Link to="/sign-in">Already have an account? Sign in</Link>
      </p>
    </AuthCard>
  );
}

export function ForgotPassword() {
  const [email, setEmail] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [sent, setSent] = useState(false);
  const submit = async () => {
    setError(null);
    try {
      await publicApi("POST", "/v1/auth/password/forgot", { email });
      setSent(true);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <AuthCard title="Reset your password">
      {sent ? (
        <Notice>If an account uses {email}, a reset link is on its way. It works once and expires after 30 minutes.</Notice>
      ) : (
        <form onSubmit={onSubmit(submit)}>
          <Field label="Email" name="email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          <ErrorNote error={error} />
          <div className="actions">
            <button className="primary" type="submit">
              Send reset link
            </button>
          </div>
        </form>
      )}
      <p className="links">
        <Link to="/sign-in">Back to sign-in</Link>
      </p>
    </AuthCard>
  );
}

export function ResetPassword() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const submit = async () => {
    setError(null);
    try {
      await publicApi("POST", "/v1/auth/password/reset", { token, newPassword: password });
      setDone(true);
    } catch (err) {
      setError(err);
    }
  };
  if (!token) {
    return (
      <AuthCard title="Reset your password">
        <p>This page needs the link from the reset email. <Link to="/forgot-password">Ask for a new link</Link>.</p>
      </AuthCard>
    );
  }
  return (
    <AuthCard title="Choose a new password">
      {done ? (
        <Notice>
          Your password is changed; every session and API key of the account was ended. <Link to="/sign-in">Sign in</Link>.
        </Notice>
      ) : (
        <form onSubmit={onSubmit(submit)}>
          <Field label="New password" name="new-password" type="password" autoComplete="new-password" required minLength={12} maxLength={128} value={password} onChange={(e) => setPassword(e.target.value)} />
          <ErrorNote error={error} />
          {error instanceof ApiError && error.status === 401 ? (
            <p>
              The link has expired or was already used. <Link to="/forgot-password">Ask for a new one</Link>.
            </p>
          ) : null}
          <div className="actions">
            <button className="primary" type="submit">
              Set password
            </button>
          </div>
        </form>
      )}
    </AuthCard>
  );
}

export function VerifyEmail() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const submit = async () => {
    setError(null);
    try {
      await publicApi("POST", "/v1/auth/email/verify", { token });
      setDone(true);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <AuthCard title="Verify your email">
      {done ? (
        <Notice>
          Your email address is verified. <Link to="/sign-in">Sign in</Link>.
        </Notice>
      ) : token ? (
        <form onSubmit={onSubmit(submit)}>
          <p>Confirm that this address is yours.</p>
          <ErrorNote error={error} />
          <div className="actions">
            <button className="primary" type="submit">
              Verify email
            </button>
          </div>
        </form>
      ) : (
        <p>This page needs the link from the verification email.</p>
      )}
    </AuthCard>
  );
}
