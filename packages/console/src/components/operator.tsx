import { type ReactNode, useId, useState } from "react";
import { useSignedIn } from "../session";

/** A page of the tenant's own settings: the API key's view only (a user token is told why, not shown an error). */
export function OperatorOnly({ title, why, children }: { title: string; why: string; children: ReactNode }) {
  const { kind } = useSignedIn();
  if (kind === "api_key") return <>{children}</>;
  return (
    <div className="page">
      <h1>{title}</h1>
      <p className="notice">{why}: sign in with the tenant's API key to manage them.</p>
    </div>
  );
}

/**
 * A secret the API answers once (a new API key, a webhook signing secret): shown until dismissed, never stored,
 * never shown again.
 */
export function SecretOnce({ label, value, onDismiss }: { label: string; value: string; onDismiss: () => void }) {
  const id = useId();
  const [copied, setCopied] = useState(false);
  return (
    <section className="notice notice-ok secret-once" aria-labelledby={id}>
      <h2 id={id}>{label}</h2>
      <p role="status">Copy it now: it is shown only this once.</p>
      <code className="secret">{value}</code>
      <div className="actions-row">
        <button
          type="button"
          onClick={() =>
            navigator.clipboard?.writeText(value).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          {copied ? "Copied" : "Copy"}
        </button>{" "}
        <button type="button" onClick={onDismiss}>
          I have stored it
        </button>
      </div>
    </section>
  );
}

/** Cursor paging: the cursors of the pages seen so far (the first page has none), to go older and back newer. */
export function useCursorPages(label?: string) {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  return {
    cursor: cursors.at(-1),
    reset: () => setCursors([undefined]),
    // A page with several lists names each pager, so that its buttons say which list they page.
    pager: (next: string | null | undefined) => (
      <div className="actions-row" {...(label ? { role: "group", "aria-label": label } : {})}>
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>{" "}
        <button type="button" disabled={!next} onClick={() => next && setCursors([...cursors, next])}>
          Older
        </button>
      </div>
    ),
  };
}
