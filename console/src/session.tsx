/**
 * The signed-in user, for every screen: starts by asking `/v1/auth/refresh`
 * (the HttpOnly cookie, if any) for a session, and follows every sign-in,
 * refresh and sign-out of api.ts.
 */
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { onSession, refreshSession, setSession, type PublicUser, type SignedIn } from "./api";

interface SessionState {
  /** false until the first refresh answered. */
  ready: boolean;
  user: PublicUser | null;
  /** Why the console is on the sign-in screen (set by a sign-out, an account deletion, an ended session). */
  farewell: string | null;
  signedIn(s: SignedIn): void;
  signedOut(message?: string): void;
  updateUser(u: PublicUser): void;
}

const Ctx = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [ready, setReady] = useState(false);
  const [user, setUser] = useState<PublicUser | null>(null);
  const [farewell, setFarewell] = useState<string | null>(null);
  const current = useRef<PublicUser | null>(null);
  useEffect(() => {
    const off = onSession((s) => {
      if (!s && current.current) setFarewell((f) => f ?? "Your session has ended. Sign in again.");
      current.current = s?.user ?? null;
      setUser(current.current);
    });
    refreshSession()
      .catch(() => null)
      .finally(() => setReady(true));
    return () => {
      off();
    };
  }, []);
  const value: SessionState = {
    ready,
    user,
    farewell,
    signedIn: (s) => {
      setFarewell(null);
      setSession(s);
    },
    signedOut: (message) => {
      setFarewell(message ?? "You have signed out.");
      setSession(null);
    },
    updateUser: (u) => {
      current.current = u;
      setUser(u);
    },
  };
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): SessionState {
  const s = useContext(Ctx);
  if (!s) throw new Error("useSession outside SessionProvider");
  return s;
}

export const isAdmin = (u: PublicUser | null) => Boolean(u?.roles.includes("admin"));
