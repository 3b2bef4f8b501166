import { useId, useState } from "react";
import { ApiError, createApiClient, errorMessage } from "../api/client";
import { type Session, sessionFromCredential, useSession } from "../session";

/**
 * Sign-in with a tenant API key (the operator view: every user of the tenant) or a user token (the end-user view).
 * The credential is checked against the API before it is kept. `expired`: shown over a page whose session ended,
 * which stays mounted underneath, so nothing typed there is lost.
 */
export function SignIn({ expired }: { expired?: string | null }) {
  const { signIn } = useSession();
  const id = useId();
  const [credential, setCredential] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    const session = sessionFromCredential(credential);
    if ("error" in session) return setError(session.error);
    // The token says when it ends: no need to ask the server about one that already has.
    if (session.expiresAt !== null && session.expiresAt * 1000 <= Date.now())
      return setError(`This user token expired at ${new Date(session.expiresAt * 1000).toLocaleString()}. Ask for a new one.`);
    setChecking(true);
    setError(null);
    try {
      await verify(session);
      setCredential("");
      signIn(session);
    } catch (failure) {
      setError(failure instanceof ApiError && failure.status === 401 ? `Not signed in: ${failure.message}` : errorMessage(failure));
    } finally {
      setChecking(false);
    }
  }

  return (
    <form onSubmit={submit} className="signin" aria-labelledby={`${id}-title`} noValidate>
      <h1 id={`${id}-title`}>{expired ? "Your session has ended" : "Sign in to the Kronos console"}</h1>
      {expired && (
        <p className="notice" role="alert">
          {expired.replace(/\.$/, "")}. Sign in again to carry on: what you were doing is kept.
        </p>
      )}
      <div className="field">
        <label htmlFor={`${id}-credential`}>API key or user token</label>
        <input
          id={`${id}-credential`}
          type="password"
          value={credential}
          onChange={(event) => setCredential(event.target.value)}
          autoComplete="off"
          spellCheck={false}
          required
          aria-describedby={`${id}-help${error ? ` ${id}-error` : ""}`}
          aria-invalid={error ? true : undefined}
        />
        <p id={`${id}-help`} className="help">
          A tenant API key (<code>kc_…</code>) shows every user of the tenant; a user token (<code>kcu.…</code>, from{" "}
          <code>POST /api/v1/sessions</code>) shows that user's own accounts. It is kept in this tab only.
        </p>
        {error && (
          <p id={`${id}-error`} className="field-error" role="alert">
            {error}
          </p>
        )}
      </div>
      <button type="submit" className="primary" disabled={checking}>
        {checking ? "Checking…" : "Sign in"}
      </button>
    </form>
  );
}

/** One cheap call that both kinds of credential may make. */
async function verify(session: Session): Promise<void> {
  const api = createApiClient(
    () => session.credential,
    () => {},
  );
  await api.request("GET", "/composio/connections?limit=1");
}
