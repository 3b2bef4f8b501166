import { type CredentialKind, credentialKind, peekUserToken } from "@kronos/shared/contracts";
import { useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from "react";
import { type ApiClient, createApiClient } from "./api/client";

/**
 * Who is signed in. The credential lives in this tab's sessionStorage (gone when the tab closes, never shared with
 * other tabs, never in localStorage or a URL) and in memory.
 */
export interface Session {
  credential: string;
  kind: CredentialKind;
  /** The end user of a user token; null for a tenant API key (the operator view: every user of the tenant). */
  userId: string | null;
  /** A user token's expiry (Unix seconds), as the token says; null for an API key. */
  expiresAt: number | null;
}

const STORAGE_KEY = "kronos.console.session";

export function sessionFromCredential(credential: string): Session | { error: string } {
  const trimmed = credential.trim();
  const kind = credentialKind(trimmed);
  if (kind === null) return { error: "Paste a tenant API key (kc_…) or a user token (kcu.…)." };
  if (kind === "api_key") return { credential: trimmed, kind, userId: null, expiresAt: null };
  const claims = peekUserToken(trimmed);
  if (!claims) return { error: "This user token is malformed." };
  return { credential: trimmed, kind, userId: claims.userId, expiresAt: claims.exp };
}

function restore(): Session | null {
  try {
    const stored = sessionStorage.getItem(STORAGE_KEY);
    if (!stored) return null;
    const session = sessionFromCredential(stored);
    return "error" in session ? null : session;
  } catch {
    return null;
  }
}

interface SessionState {
  session: Session | null;
  /** Set when the API refused the credential while in use: sign-in shows over the page, which stays as it was. */
  expiredMessage: string | null;
  api: ApiClient;
  signIn(session: Session): void;
  signOut(): void;
  /** The credential stopped working (a 401, or the feed closed 4001): ask for a new one over the current page. */
  expire(message: string): void;
}

const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(restore);
  const [expiredMessage, setExpiredMessage] = useState<string | null>(null);
  // The credential is read at call time, so a request made after a new sign-in uses the new one.
  const [holder] = useState(() => ({ credential: session?.credential ?? null }));
  const queryClient = useQueryClient();

  const markExpired = useCallback(
    (message: string) => {
      holder.credential = null;
      sessionStorage.removeItem(STORAGE_KEY);
      setExpiredMessage(message);
    },
    [holder],
  );
  const api = useMemo(() => createApiClient(() => holder.credential, markExpired), [holder, markExpired]);

  const signIn = useCallback(
    (next: Session) => {
      holder.credential = next.credential;
      sessionStorage.setItem(STORAGE_KEY, next.credential);
      setSession(next);
      setExpiredMessage(null);
      // Everything read with the previous credential is read again with this one.
      void queryClient.invalidateQueries();
    },
    [holder, queryClient],
  );
  const signOut = useCallback(() => {
    holder.credential = null;
    sessionStorage.removeItem(STORAGE_KEY);
    setSession(null);
    setExpiredMessage(null);
    queryClient.clear();
  }, [holder, queryClient]);

  const value = useMemo(
    () => ({ session, expiredMessage, api, signIn, signOut, expire: markExpired }),
    [session, expiredMessage, api, signIn, signOut, markExpired],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error("useSession outside SessionProvider");
  return state;
}

/** The signed-in session (pages render only when there is one). */
export function useSignedIn(): Session & { api: ApiClient } {
  const { session, api } = useSession();
  if (!session) throw new Error("useSignedIn without a session");
  return { ...session, api };
}
