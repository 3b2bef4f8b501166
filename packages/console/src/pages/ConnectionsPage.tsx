import {
  type BulkResult,
  CONNECTION_STATUSES,
  type ConnectionStatus,
  type ConnectionView,
  EVENT_TYPES,
  labelsSchema,
  type ToolkitView,
} from "@kronos/shared/contracts";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { type ConnectionFilters, keys, patchCachedConnection, runBulk, useAuthConfigs, useConnections, useDebounced } from "../api/hooks";
import { ConfirmDialog, Empty, ErrorNotice, Loading, StatusBadge } from "../components/common";
import { SelectField, TextField } from "../components/fields";
import { ToolkitPicker } from "../components/ToolkitPicker";
import { parseConnectionStatus, useFeedEvents } from "../feed";
import { useSignedIn } from "../session";

export function ConnectionsPage() {
  const session = useSignedIn();
  const client = useQueryClient();
  const [filters, setFilters] = useState<ConnectionFilters>({ status: "", label: "", toolkit: "", user_id: "" });
  const debouncedFilters = useDebounced(filters);
  const connections = useConnections(debouncedFilters);

  // Live status: patch the row in place; a connection no list has yet (made elsewhere) makes the lists reload.
  useFeedEvents(EVENT_TYPES.connectionStatus, (data) => {
    const event = parseConnectionStatus(data);
    if (!event) return;
    if (event.status === "REVOKED") {
      void client.invalidateQueries({ queryKey: keys.connections });
      return;
    }
    const found = patchCachedConnection(client, event.connection_id, {
      status: event.status,
      status_reason: event.status_reason ?? null,
      labels: event.labels,
    });
    if (!found) void client.invalidateQueries({ queryKey: keys.connections });
  });

  return (
    <div className="page">
      <h1>Connections</h1>
      <p className="muted">
        {session.kind === "api_key" ? "Every user of the tenant." : `The accounts ${session.userId} has connected.`} Statuses change live.
      </p>
      <ConnectPanel />
      <section aria-labelledby="connections-list">
        <h2 id="connections-list">Connected accounts</h2>
        <FilterBar filters={filters} onChange={setFilters} operator={session.kind === "api_key"} />
        {connections.isPending && <Loading what="connections" />}
        {connections.isError && <ErrorNotice error={connections.error} title="The connections could not be read" />}
        {connections.data && <ConnectionList items={connections.data.items} filtered={Object.values(debouncedFilters).some(Boolean)} />}
      </section>
    </div>
  );
}

const STATUS_OPTIONS = [{ value: "", label: "Any" }, ...CONNECTION_STATUSES.map((status) => ({ value: status, label: status }))];

function FilterBar({
  filters,
  onChange,
  operator,
}: {
  filters: ConnectionFilters;
  onChange: (filters: ConnectionFilters) => void;
  operator: boolean;
}) {
  return (
    <fieldset className="filters">
      <legend>Filter</legend>
      <SelectField
        label="Status"
        value={filters.status ?? ""}
        options={STATUS_OPTIONS}
        onChange={(status) => onChange({ ...filters, status: status as ConnectionStatus | "" })}
      />
      <TextField label="Toolkit" value={filters.toolkit ?? ""} onChange={(toolkit) => onChange({ ...filters, toolkit: toolkit.trim() })} />
      <TextField label="Label" value={filters.label ?? ""} onChange={(label) => onChange({ ...filters, label: label.trim() })} />
      {operator && (
        <TextField label="User" value={filters.user_id ?? ""} onChange={(user) => onChange({ ...filters, user_id: user.trim() })} />
      )}
    </fieldset>
  );
}

/** The hosted authorisation link, opened in a new window (the console keeps running and sees the result live). */
function AuthoriseLink({ url, toolkit }: { url: string; toolkit: string }) {
  return (
    <a className="button primary" href={url} target="_blank" rel="noopener noreferrer">
      Open the {toolkit} authorisation page (new window)
    </a>
  );
}

function ConnectPanel() {
  const { api, kind, userId } = useSignedIn();
  const client = useQueryClient();
  const id = useId();
  const [toolkit, setToolkit] = useState<ToolkitView | null>(null);
  const [forUser, setForUser] = useState("");
  const [mode, setMode] = useState<"managed" | "custom">("managed");
  const [authConfigId, setAuthConfigId] = useState("");
  const [labelsText, setLabelsText] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const operator = kind === "api_key";
  const customConfigs = useAuthConfigs(
    { toolkit_slug: toolkit?.slug ?? "", is_composio_managed: "false" },
    operator && toolkit !== null && mode === "custom",
  );

  const connect = useMutation({
    mutationFn: async (body: Record<string, unknown>) =>
      (
        await api.request<{ connection_id: string; redirect_url?: string | null; status: string }>(
          "POST",
          "/composio/connections/initiate-enhanced",
          body,
        )
      ).body,
    onSuccess: () => client.invalidateQueries({ queryKey: keys.connections }),
  });
  const started = connect.data;
  const list = useConnections({});
  // After a 202 (the job was slow), the link arrives with the connection: read it from the list the feed keeps fresh.
  const startedRow = started ? list.data?.items.find((item) => item.connection_id === started.connection_id) : undefined;
  const link = started?.redirect_url ?? startedRow?.redirect_url ?? null;
  const liveStatus = startedRow?.status ?? started?.status;

  function submit(event: React.FormEvent) {
    event.preventDefault();
    setProblem(null);
    if (!toolkit) return setProblem("Choose a toolkit.");
    const user = operator ? forUser.trim() : userId;
    if (!user) return setProblem("Give the user to connect the account for.");
    const labels = labelsSchema.safeParse(
      labelsText
        .split(",")
        .map((label) => label.trim())
        .filter(Boolean),
    );
    if (!labels.success) return setProblem(`Labels: ${labels.error.issues[0]?.message ?? "invalid"}`);
    if (mode === "custom" && !authConfigId) return setProblem("Choose a custom auth config, or use the Composio-managed one.");
    connect.mutate({
      user_id: user,
      app_name: toolkit.slug,
      labels: labels.data,
      ...(mode === "custom" ? { auth_config_id: authConfigId } : {}),
    });
  }

  return (
    <section aria-labelledby={`${id}-title`} className="card">
      <h2 id={`${id}-title`}>Connect an account</h2>
      <form onSubmit={submit} noValidate>
        <ToolkitPicker value={toolkit} onChange={setToolkit} />
        {operator && <TextField label="For user" value={forUser} onChange={setForUser} autoComplete="off" required />}
        <fieldset>
          <legend>Auth config</legend>
          <label className="inline">
            <input type="radio" name={`${id}-mode`} checked={mode === "managed"} onChange={() => setMode("managed")} /> Composio-managed
          </label>
          <label className="inline">
            <input type="radio" name={`${id}-mode`} checked={mode === "custom"} onChange={() => setMode("custom")} disabled={!operator} />{" "}
            Custom
            {!operator && <span className="muted"> (an operator sets these up)</span>}
          </label>
          {mode === "custom" && (
            <div className="field">
              <label htmlFor={`${id}-config`}>Custom auth config</label>
              <select id={`${id}-config`} value={authConfigId} onChange={(event) => setAuthConfigId(event.target.value)}>
                <option value="">{toolkit ? "Choose…" : "Choose a toolkit first"}</option>
                {customConfigs.data?.items.map((config) => (
                  <option key={config.id} value={config.id}>
                    {config.name} ({config.id})
                  </option>
                ))}
              </select>
              {customConfigs.data?.items.length === 0 && <p className="muted">No custom auth config for this toolkit yet.</p>}
              {customConfigs.isError && <ErrorNotice error={customConfigs.error} />}
            </div>
          )}
        </fieldset>
        <TextField label="Labels" value={labelsText} onChange={setLabelsText} help="Comma-separated, e.g. production, team-alpha" />
        {problem && (
          <p className="notice notice-error" role="alert">
            {problem}
          </p>
        )}
        {connect.isError && <ErrorNotice error={connect.error} title="The connection could not start" />}
        <button type="submit" className="primary" disabled={connect.isPending}>
          {connect.isPending ? "Connecting…" : "Connect"}
        </button>
      </form>
      {started && (
        <div className="notice" role="status" aria-live="polite">
          <p>
            Connection {started.connection_id.slice(0, 8)}… is <StatusBadge status={liveStatus ?? "INITIALIZING"} />
          </p>
          {link && liveStatus !== "ACTIVE" ? <AuthoriseLink url={link} toolkit={toolkit?.name ?? "toolkit"} /> : null}
          {!link && liveStatus !== "ACTIVE" && <p className="muted">Waiting for the authorisation link…</p>}
        </div>
      )}
    </section>
  );
}

type Op = "enable" | "disable" | "refresh" | "delete";

function ConnectionList({ items, filtered }: { items: ConnectionView[]; filtered: boolean }) {
  const { api } = useSignedIn();
  const client = useQueryClient();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirm, setConfirm] = useState<
    { kind: "delete-one"; connection: ConnectionView } | { kind: "bulk"; op: "disable" | "delete" } | null
  >(null);
  const [reauthorise, setReauthorise] = useState<{ url: string; toolkit: string } | null>(null);
  const [bulkResult, setBulkResult] = useState<BulkResult | null>(null);

  const op = useMutation({
    mutationFn: async ({ connection, op }: { connection: ConnectionView; op: Op }) => {
      const path = `/composio/connections/${connection.connection_id}`;
      if (op === "delete") return (await api.request<null>("DELETE", path)).body;
      return (await api.request<ConnectionView>("POST", `${path}/${op}`)).body;
    },
    onSuccess: (result, { connection, op }) => {
      if (op === "refresh" && result && result.redirect_url) setReauthorise({ url: result.redirect_url, toolkit: connection.toolkit });
      void client.invalidateQueries({ queryKey: keys.connections });
    },
  });
  const bulk = useMutation({
    mutationFn: ({ kind, ids }: { kind: "disable" | "delete"; ids: string[] }) => runBulk(api, kind, ids),
    onSuccess: (result) => {
      setBulkResult(result);
      setSelected(new Set());
      void client.invalidateQueries({ queryKey: keys.connections });
    },
  });

  if (items.length === 0)
    return <Empty>{filtered ? "No connection matches these filters." : "No connection yet: connect an account above."}</Empty>;
  const toggle = (connectionId: string) =>
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(connectionId)) next.delete(connectionId);
      else next.add(connectionId);
      return next;
    });
  const allSelected = selected.size === items.length;
  const byId = new Map(items.map((item) => [item.connection_id, item]));
  const selectedIds = [...selected].filter((connectionId) => byId.has(connectionId));

  return (
    <>
      <div className="bulkbar" role="toolbar" aria-label="Bulk actions">
        <label className="inline">
          <input
            type="checkbox"
            checked={allSelected}
            onChange={() => setSelected(allSelected ? new Set() : new Set(items.map((item) => item.connection_id)))}
          />{" "}
          Select all
        </label>
        <span aria-live="polite">{selectedIds.length} selected</span>
        <button
          type="button"
          disabled={selectedIds.length === 0 || bulk.isPending}
          onClick={() => setConfirm({ kind: "bulk", op: "disable" })}
        >
          Disable selected
        </button>
        <button
          type="button"
          className="danger"
          disabled={selectedIds.length === 0 || bulk.isPending}
          onClick={() => setConfirm({ kind: "bulk", op: "delete" })}
        >
          Delete selected
        </button>
      </div>
      {bulk.isPending && <p role="status">Working on {selectedIds.length} connections…</p>}
      {bulk.isError && <ErrorNotice error={bulk.error} title="The bulk operation failed" />}
      {bulkResult && (
        <div className="notice" role="status">
          <p>
            Bulk {bulkResult.kind}: {bulkResult.succeeded} succeeded, {bulkResult.failed} failed.
          </p>
          <ul className="bulk-results" aria-label="Per-item results">
            {bulkResult.results.map((result) => (
              <li key={result.index}>
                {result.ok ? "✓" : "✗"} {byId.get(result.connection_id ?? "")?.toolkit ?? ""} {result.connection_id?.slice(0, 8)}…{" "}
                {result.ok ? (result.status ?? "done") : `${result.error?.code}: ${result.error?.message}`}
              </li>
            ))}
          </ul>
        </div>
      )}
      {op.isError && <ErrorNotice error={op.error} />}
      {reauthorise && (
        <div className="notice" role="status">
          <p>Re-authorisation started: open the link to authorise again.</p>
          <a className="button primary" href={reauthorise.url} target="_blank" rel="noopener noreferrer">
            Open the {reauthorise.toolkit} authorisation page (new window)
          </a>
        </div>
      )}
      <table className="table">
        <caption className="sr-only">Connections</caption>
        <thead>
          <tr>
            <th scope="col">
              <span className="sr-only">Select</span>
            </th>
            <th scope="col">Toolkit</th>
            <th scope="col">User</th>
            <th scope="col">Status</th>
            <th scope="col">Labels</th>
            <th scope="col">Updated</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {items.map((connection) => (
            <tr key={connection.connection_id} data-connection-id={connection.connection_id}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`Select ${connection.toolkit} of ${connection.user_id}`}
                  checked={selected.has(connection.connection_id)}
                  onChange={() => toggle(connection.connection_id)}
                />
              </td>
              <td data-label="Toolkit">{connection.toolkit}</td>
              <td data-label="User">{connection.user_id}</td>
              <td data-label="Status">
                <StatusBadge status={connection.status} />
                {connection.status_reason && <span className="muted small"> {connection.status_reason}</span>}
              </td>
              <td data-label="Labels">
                {connection.labels.length
                  ? connection.labels.map((label) => (
                      <span key={label} className="tag">
                        {label}
                      </span>
                    ))
                  : "—"}
              </td>
              <td data-label="Updated">
                <time dateTime={connection.updated_at}>{new Date(connection.updated_at).toLocaleString()}</time>
              </td>
              <td data-label="Actions" className="row-actions">
                {connection.status === "INACTIVE" ? (
                  <button type="button" onClick={() => op.mutate({ connection, op: "enable" })}>
                    Enable
                  </button>
                ) : (
                  <button type="button" disabled={connection.status !== "ACTIVE"} onClick={() => op.mutate({ connection, op: "disable" })}>
                    Disable
                  </button>
                )}
                <button type="button" onClick={() => op.mutate({ connection, op: "refresh" })}>
                  Re-authorise
                </button>
                <button type="button" className="danger" onClick={() => setConfirm({ kind: "delete-one", connection })}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ConfirmDialog
        open={confirm !== null}
        title={
          confirm?.kind === "bulk"
            ? `${confirm.op === "delete" ? "Delete" : "Disable"} ${selectedIds.length} connections?`
            : "Delete this connection?"
        }
        confirmLabel={confirm?.kind === "bulk" ? (confirm.op === "delete" ? "Delete them" : "Disable them") : "Delete it"}
        onCancel={() => setConfirm(null)}
        onConfirm={() => {
          if (confirm?.kind === "delete-one") op.mutate({ connection: confirm.connection, op: "delete" });
          if (confirm?.kind === "bulk") {
            setBulkResult(null);
            bulk.mutate({ kind: confirm.op, ids: selectedIds });
          }
          setConfirm(null);
        }}
      >
        {confirm?.kind === "delete-one" ? (
          <p>
            The {confirm.connection.toolkit} account of {confirm.connection.user_id} is disconnected at Composio and removed. This cannot be
            undone.
          </p>
        ) : confirm?.op === "delete" ? (
          <p>The selected accounts are disconnected at Composio and removed. This cannot be undone.</p>
        ) : (
          <p>The selected accounts stop working until they are enabled again.</p>
        )}
      </ConfirmDialog>
    </>
  );
}
