import { ALL_AUDIT_ACTIONS, type AuditLogFilters, auditLogFiltersSchema, type auditLogViewSchema } from "@kronos/shared/contracts";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import type { z } from "zod";
import { query } from "../api/client";
import { type Page, useDebounced } from "../api/hooks";
import { Empty, ErrorNotice, JsonView, Loading, RecordTable } from "../components/common";
import { SelectField, TextField } from "../components/fields";
import { OperatorOnly, useCursorPages } from "../components/operator";
import { useSignedIn } from "../session";

type AuditLogView = z.infer<typeof auditLogViewSchema>;
type Form = Required<Record<Exclude<keyof AuditLogFilters, "resource_id">, string>>;
// The action filter offers the schema of actions (any other value is refused by the API).
const ACTION_OPTIONS = [
  { value: "", label: "Any action" },
  ...[...ALL_AUDIT_ACTIONS].sort().map((action) => ({ value: action, label: action })),
];
const EMPTY: Form = { actor: "", action: "", resource_type: "", user_id: "", from: "", to: "" };

/** The form's filters as the API's: empty fields left out, datetime-local turned into ISO; invalid ones dropped. */
function filtersOf(form: Form): AuditLogFilters {
  const iso = (local: string) => (local ? new Date(local).toISOString() : undefined);
  const parsed = auditLogFiltersSchema.safeParse({
    actor: form.actor.trim() || undefined,
    action: form.action || undefined,
    resource_type: form.resource_type.trim() || undefined,
    user_id: form.user_id.trim() || undefined,
    from: iso(form.from),
    to: iso(form.to),
  });
  return parsed.success ? parsed.data : {};
}

/** The tenant's audit log: who did what to which resource, filtered, a page at a time, and its NDJSON export. */
export function ActivityPage() {
  return (
    <OperatorOnly title="Activity" why="The audit log belongs to the tenant">
      <Activity />
    </OperatorOnly>
  );
}

function Activity() {
  const { api } = useSignedIn();
  const id = useId();
  const [form, setForm] = useState<Form>(EMPTY);
  const filters = filtersOf(useDebounced(form));
  const { cursor, reset, pager } = useCursorPages();
  const logs = useQuery({
    queryKey: ["audit-logs", filters, cursor],
    queryFn: async () => (await api.request<Page<AuditLogView>>("GET", `/audit-logs${query({ ...filters, cursor, limit: 50 })}`)).body,
    placeholderData: (previous) => previous,
  });
  // The export is fetched with the Authorization header and handed to the browser as a file: no URL carries the key.
  const exported = useMutation({
    mutationFn: async () => {
      const blob = await api.download(`/audit-logs/export${query({ ...filters })}`);
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = `audit-log-${new Date().toISOString().slice(0, 19)}.ndjson`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    },
  });
  const field = (name: keyof Form, label: string, type = "text") => (
    <TextField
      label={label}
      type={type}
      value={form[name]}
      onChange={(value) => {
        setForm({ ...form, [name]: value });
        reset();
      }}
    />
  );
  return (
    <div className="page">
      <h1>Activity</h1>
      <p className="muted">The audit log: every change to the tenant's connections, keys, configs and policies, newest first.</p>
      <fieldset className="filters">
        <legend>Filter</legend>
        {field("actor", "Actor")}
        <SelectField
          label="Action"
          value={form.action}
          options={ACTION_OPTIONS}
          onChange={(value) => {
            setForm({ ...form, action: value });
            reset();
          }}
        />
        {field("resource_type", "Resource")}
        {field("user_id", "User")}
        {field("from", "From", "datetime-local")}
        {field("to", "Until", "datetime-local")}
      </fieldset>
      <div className="actions-row">
        <button type="button" disabled={exported.isPending} onClick={() => exported.mutate()}>
          {exported.isPending ? "Exporting…" : "Export as NDJSON"}
        </button>
      </div>
      {exported.isError && <ErrorNotice error={exported.error} title="Not exported" />}
      <section aria-labelledby={`${id}-list`}>
        <h2 id={`${id}-list`}>Records</h2>
        {logs.isPending && <Loading what="the audit log" />}
        {logs.isError && <ErrorNotice error={logs.error} title="The audit log could not be read" />}
        {logs.data && logs.data.items.length === 0 && <Empty>No record matches.</Empty>}
        {logs.data && logs.data.items.length > 0 && (
          <RecordTable caption="Audit log" columns={["When", "Actor", "Action", "Resource", "Details"]}>
            {logs.data.items.map((log) => (
              <tr key={log.id}>
                <td data-label="When">{new Date(log.created_at).toLocaleString()}</td>
                <td data-label="Actor">{log.actor}</td>
                <td data-label="Action">{log.action}</td>
                <td data-label="Resource">
                  {log.resource_type} <code>{log.resource_id}</code>
                </td>
                <td data-label="Details">
                  <JsonView value={log.data} label={`Details of ${log.action}`} />
                </td>
              </tr>
            ))}
          </RecordTable>
        )}
        {pager(logs.data?.next_cursor)}
      </section>
    </div>
  );
}
