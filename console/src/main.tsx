/**
 * The web console: a single-page app under `/console` on Rampart's JSON API.
 * Routing (react-router), server state (react-query: caching, refetch after
 * a change), the session (session.tsx) and the shell: navigation, the
 * offline banner and an error boundary per screen.
 */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode, useState } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, Navigate, NavLink, Outlet, RouterProvider, useLocation } from "react-router";
import { ApiError, signOut } from "./api";
import { AdminAudit, AdminUsage, AdminUsers, AdminWebhooks } from "./screens/admin";
import { AdminKeys } from "./screens/admin-keys";
import { ApiKeys, Privacy, Profile, Security, Sessions, Usage } from "./screens/account";
import { ForgotPassword, Register, ResetPassword, SignIn, VerifyEmail } from "./screens/auth";
import { isAdmin, SessionProvider, useSession } from "./session";
import { ErrorBoundary, Loading, OfflineBanner } from "./ui";
import "uplot/dist/uPlot.min.css";
import "./styles.css";

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (count, err) => count < 2 && (!(err instanceof ApiError) || err.status === 0 || err.status >= 500),
      staleTime: 10_000,
      // A screen whose data failed to load for a server or network reason goes to the error boundary
      // (with the request's trace id); refusals (4xx) are shown where they happen.
      throwOnError: (err) => !(err instanceof ApiError) || err.status === 0 || err.status >= 500,
    },
  },
});

function Shell() {
  const session = useSession();
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  if (!session.ready) return <Loading />;
  if (!session.user) return <Navigate to={`/sign-in?next=${encodeURIComponent(location.pathname)}`} replace />;
  const admin = isAdmin(session.user);
  const leave = async () => {
    try {
      await signOut();
    } finally {
      queryClient.clear();
      session.signedOut();
    }
  };
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Rampart</span>
        <button type="button" className="menu" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen(!menuOpen)}>
          Menu
        </button>
        <span className="who" title={session.user.email}>
          {session.user.name ?? session.user.email}
        </span>
        <button type="button" onClick={leave}>
          Sign out
        </button>
      </header>
      <nav id="nav" aria-label="Main" className={menuOpen ? "open" : ""} onClick={() => setMenuOpen(false)}>
        <h2>Account</h2>
        <ul>
          <li><NavLink to="/" end>Profile</NavLink></li>
          <li><NavLink to="/security">Password &amp; MFA</NavLink></li>
          <li><NavLink to="/sessions">Sessions</NavLink></li>
          <li><NavLink to="/api-keys">API keys</NavLink></li>
          <li><NavLink to="/usage">Usage</NavLink></li>
          <li><NavLink to="/privacy">Privacy &amp; data</NavLink></li>
        </ul>
        {admin ? (
          <>
            <h2>Administration</h2>
            <ul>
              <li><NavLink to="/admin/users">Users</NavLink></li>
              <li><NavLink to="/admin/audit">Audit log</NavLink></li>
              <li><NavLink to="/admin/usage">Usage dashboard</NavLink></li>
              <li><NavLink to="/admin/webhooks">Webhooks</NavLink></li>
              <li><NavLink to="/admin/keys">Keys</NavLink></li>
            </ul>
          </>
        ) : null}
      </nav>
      <main id="main" tabIndex={-1}>
        <ErrorBoundary resetKey={location.pathname}>
          <Outlet />
        </ErrorBoundary>
      </main>
    </div>
  );
}

function AdminOnly() {
  const { user } = useSession();
  if (!isAdmin(user)) return <Navigate to="/" replace />;
  return <Outlet />;
}

function NotFound() {
  return (
    <section className="card">
      <h1>Not found</h1>
      <p>There is no such screen in the console.</p>
    </section>
  );
}

const router = createBrowserRouter(
  [
    { path: "/sign-in", element: <SignIn /> },
    { path: "/register", element: <Register /> },
    { path: "/forgot-password", element: <ForgotPassword /> },
    { path: "/reset-password", element: <ResetPassword /> },
    { path: "/verify-email", element: <VerifyEmail /> },
    {
      element: <Shell />,
      children: [
        { index: true, element: <Profile /> },
        { path: "security", element: <Security /> },
        { path: "sessions", element: <Sessions /> },
        { path: "api-keys", element: <ApiKeys /> },
        { path: "usage", element: <Usage /> },
        { path: "privacy", element: <Privacy /> },
        {
          path: "admin",
          element: <AdminOnly />,
          children: [
            { path: "users", element: <AdminUsers /> },
            { path: "audit", element: <AdminAudit /> },
            { path: "usage", element: <AdminUsage /> },
            { path: "webhooks", element: <AdminWebhooks /> },
            { path: "keys", element: <AdminKeys /> },
          ],
        },
        { path: "*", element: <NotFound /> },
      ],
    },
  ],
  { basename: "/console" },
);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <SessionProvider>
        <OfflineBanner />
        <RouterProvider router={router} />
      </SessionProvider>
    </QueryClientProvider>
  </StrictMode>,
);
