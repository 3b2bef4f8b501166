import { type ReactNode, useEffect, useId, useRef } from "react";
import { errorMessage } from "../api/client";

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** The API's own message (never a stack), announced to screen readers. */
export function ErrorNotice({ error, title = "It did not work" }: { error: unknown; title?: string }) {
  return (
    <div className="notice notice-error" role="alert">
      <strong>{title}:</strong> {errorMessage(error)}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

const STATUS_TONE: Record<string, string> = {
  ACTIVE: "ok",
  SUCCEEDED: "ok",
  INITIATED: "pending",
  INITIALIZING: "pending",
  QUEUED: "pending",
  RUNNING: "pending",
  AWAITING_AUTH: "pending",
  AWAITING_APPROVAL: "pending",
  DENIED: "bad",
  CANCELLED: "off",
  OUTCOME_UNKNOWN: "bad",
  INACTIVE: "off",
  FAILED: "bad",
  EXPIRED: "bad",
  REVOKED: "bad",
};

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${STATUS_TONE[status] ?? "off"}`}>{status}</span>;
}

/** A modal confirmation (the native <dialog>: focus is trapped and Escape cancels). */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby={titleId} onCancel={onCancel} className="dialog">
      <h2 id={titleId}>{title}</h2>
      <div>{children}</div>
      <div className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className="danger" onClick={onConfirm}>
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** A JSON value as a tree of disclosure widgets (keyboard-operable <details>). */
export function JsonView({ value, label }: { value: unknown; label: string }) {
  return (
    <section className="json" aria-label={label}>
      <JsonNode name={null} value={value} depth={0} />
    </section>
  );
}

function JsonNode({ name, value, depth }: { name: string | null; value: unknown; depth: number }) {
  const key = name === null ? null : <span className="json-key">{name}: </span>;
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value);
    const brackets = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
    return (
      <details open={depth < 3}>
        <summary>
          {key}
          {brackets[0]}
          {entries.length === 0 ? (
            brackets[1]
          ) : (
            <span className="muted">
              {" "}
              {entries.length} {Array.isArray(value) ? "items" : "keys"}{" "}
            </span>
          )}
        </summary>
        {entries.length > 0 && (
          <div className="json-children">
            {entries.map(([childName, child]) => (
              <JsonNode key={childName} name={childName} value={child} depth={depth + 1} />
            ))}
            <div>{brackets[1]}</div>
          </div>
        )}
      </details>
    );
  }
  return (
    <div>
      {key}
      <span className={`json-${value === null ? "null" : typeof value}`}>{JSON.stringify(value)}</span>
    </div>
  );
}

/** A table of records (cards at 375 px: each cell is labelled by its column, see `data-label` in the styles). */
export function RecordTable({ caption, columns, children }: { caption: string; columns: readonly string[]; children: ReactNode }) {
  return (
    <table className="table">
      <caption className="sr-only">{caption}</caption>
      <thead>
        <tr>
          {columns.map((column) => (
            <th key={column} scope="col">
              {column}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}

/** What the API's own schema found wrong in a form, before anything was sent. */
export function InvalidNotice({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p className="notice notice-error" role="alert">
      {message}
    </p>
  );
}
