import {
  createTriggerBodySchema,
  EVENT_TYPES,
  labelsSchema,
  TRIGGER_STATUSES,
  type TriggerStatus,
  type TriggerTypeView,
  type TriggerView,
} from "@kronos/shared/contracts";
import Form from "@rjsf/core";
import type { RJSFSchema } from "@rjsf/utils";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { query } from "../api/client";
import { type Page, useDebounced } from "../api/hooks";
import { ConfirmDialog, Empty, ErrorNotice, InvalidNotice, Loading, RecordTable, StatusBadge } from "../components/common";
import { SelectField, TextField } from "../components/fields";
import { useCursorPages } from "../components/operator";
import { useFeedEvents } from "../feed";
import { formValidator } from "../forms/validator";
import { useSignedIn } from "../session";
import { labelsOf, TriggerEditor } from "./TriggerEditor";

const TRIGGERS_KEY = ["triggers"] as const;

/** Triggers: Composio events on a user's account, delivered on the feed; created from the trigger type's config schema. */
export function TriggersPage() {
  const { api } = useSignedIn();
  const client = useQueryClient();
  const id = useId();
  const [filters, setFilters] = useState({ user_id: "", toolkit: "", status: "", label: "" });
  const debounced = useDebounced(filters);
  const { cursor, reset, pager } = useCursorPages();
  useFeedEvents(EVENT_TYPES.triggerStatus, () => void client.invalidateQueries({ queryKey: TRIGGERS_KEY }));
  const triggers = useQuery({
    queryKey: [...TRIGGERS_KEY, debounced, cursor],
    queryFn: async () =>
      (await api.request<Page<TriggerView>>("GET", `/composio/triggers${query({ ...debounced, cursor, limit: 50 })}`)).body,
  });
  const filter = (name: keyof typeof filters, label: string) => (
    <TextField
      label={label}
      value={filters[name]}
      onChange={(value) => {
        setFilters({ ...filters, [name]: value.trim() });
        reset();
      }}
    />
  );
  return (
    <div className="page">
      <h1>Triggers</h1>
      <p className="muted">Events from your users' accounts (a new commit, a new email), delivered on the feed and to your webhooks.</p>
      <CreateTrigger />
      <section aria-labelledby={`${id}-list`}>
        <h2 id={`${id}-list`}>Triggers</h2>
        <fieldset className="filters">
          <legend>Filter</legend>
          {filter("user_id", "User")}
          {filter("toolkit", "Toolkit")}
          <SelectField
            label="Status"
            value={filters.status}
            options={[{ value: "", label: "Any" }, ...TRIGGER_STATUSES.map((value) => ({ value, label: value }))]}
            onChange={(status) => {
              setFilters({ ...filters, status: status as TriggerStatus | "" });
              reset();
            }}
          />
          {filter("label", "Label")}
        </fieldset>
        {triggers.isPending && <Loading what="triggers" />}
        {triggers.isError && <ErrorNotice error={triggers.error} title="The triggers could not be read" />}
        {triggers.data && triggers.data.items.length === 0 && <Empty>No trigger matches. Create one above.</Empty>}
        {triggers.data && triggers.data.items.length > 0 && <TriggerTable items={triggers.data.items} />}
        {pager(triggers.data?.next_cursor)}
      </section>
    </div>
  );
}

function CreateTrigger() {
  const { api } = useSignedIn();
  const client = useQueryClient();
  const id = useId();
  const [toolkit, setToolkit] = useState("");
  const [slug, setSlug] = useState("");
  const [userId, setUserId] = useState("");
  const [labels, setLabels] = useState("");
  const [config, setConfig] = useState<Record<string, unknown>>({});
  const [invalid, setInvalid] = useState<string | null>(null);
  const debouncedToolkit = useDebounced(toolkit.trim().toLowerCase());
  const types = useQuery({
    queryKey: ["trigger-types", debouncedToolkit],
    enabled: debouncedToolkit !== "",
    queryFn: async () =>
      (await api.request<Page<TriggerTypeView>>("GET", `/composio/triggers/types${query({ toolkit: debouncedToolkit, limit: 200 })}`)).body,
  });
  const type = useQuery({
    queryKey: ["trigger-type", slug],
    enabled: slug !== "",
    queryFn: async () => (await api.request<TriggerTypeView>("GET", `/composio/triggers/types/${encodeURIComponent(slug)}`)).body,
  });
  const create = useMutation({
    mutationFn: async (body: unknown) => (await api.request<unknown>("POST", "/composio/triggers", body)).body,
    onSuccess: () => {
      setConfig({});
      return client.invalidateQueries({ queryKey: TRIGGERS_KEY });
    },
  });
  function submit(formData: Record<string, unknown>) {
    const checked = createTriggerBodySchema.safeParse({
      user_id: userId.trim(),
      trigger_slug: slug,
      config: formData,
      labels: labelsOf(labels),
    });
    const labelsChecked = labelsSchema.safeParse(labelsOf(labels));
    if (!checked.success || !labelsChecked.success)
      return setInvalid(
        (checked.error ?? labelsChecked.error)?.issues.map((issue) => `${issue.path.join(".") || "form"}: ${issue.message}`).join("; ") ??
          null,
      );
    setInvalid(null);
    create.mutate(checked.data);
  }
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Create a trigger</h2>
      <div className="grid-form">
        <TextField
          label="Trigger toolkit"
          value={toolkit}
          onChange={(value) => {
            setToolkit(value);
            setSlug("");
          }}
          placeholder="github"
          autoComplete="off"
        />
        <SelectField
          label="Trigger type"
          value={slug}
          options={[
            { value: "", label: types.isPending && debouncedToolkit ? "Loading…" : "Choose" },
            ...(types.data?.items ?? []).map((t) => ({ value: t.slug, label: t.name })),
          ]}
          onChange={(value) => {
            setSlug(value);
            setConfig({});
          }}
        />
        <TextField label="For user" value={userId} onChange={setUserId} autoComplete="off" />
        <TextField label="Trigger labels" value={labels} onChange={setLabels} placeholder="production, team-alpha" autoComplete="off" />
      </div>
      {types.isError && <ErrorNotice error={types.error} title="The trigger types could not be read" />}
      {types.data && types.data.items.length === 0 && <Empty>This toolkit has no trigger type.</Empty>}
      {type.isError && <ErrorNotice error={type.error} title="The trigger type could not be read" />}
      {type.data && (
        <>
          {type.data.description && <p className="muted">{type.data.description}</p>}
          <Form
            schema={type.data.config as RJSFSchema}
            validator={formValidator}
            formData={config}
            onChange={(event) => setConfig((event.formData ?? {}) as Record<string, unknown>)}
            onSubmit={(event) => submit((event.formData ?? {}) as Record<string, unknown>)}
            showErrorList={false}
            uiSchema={{ "ui:submitButtonOptions": { submitText: "Create trigger", props: { className: "primary" } } }}
          />
        </>
      )}
      <InvalidNotice message={invalid} />
      {create.isError && <ErrorNotice error={create.error} title="The trigger was not created" />}
      {create.isSuccess && (
        <p className="notice notice-ok" role="status">
          Created; it turns ACTIVE once Composio confirms it.
        </p>
      )}
    </section>
  );
}

function TriggerTable({ items }: { items: TriggerView[] }) {
  const { api } = useSignedIn();
  const client = useQueryClient();
  const [deleting, setDeleting] = useState<TriggerView | null>(null);
  const [editing, setEditing] = useState<TriggerView | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const change = useMutation({
    mutationFn: async ({ trigger, op }: { trigger: TriggerView; op: "enable" | "disable" | "delete" }) =>
      op === "delete"
        ? (await api.request<unknown>("DELETE", `/composio/triggers/${trigger.trigger_id}`)).body
        : (await api.request<unknown>("POST", `/composio/triggers/${trigger.trigger_id}/${op}`)).body,
    onSuccess: () => client.invalidateQueries({ queryKey: TRIGGERS_KEY }),
  });
  return (
    <>
      {editing && (
        <TriggerEditor
          key={editing.trigger_id}
          trigger={editing}
          queryKey={TRIGGERS_KEY}
          onDone={(changed) => {
            setSaved(changed ? `${editing.trigger_slug} of ${editing.user_id} saved.` : null);
            setEditing(null);
          }}
        />
      )}
      {saved && (
        <p className="notice notice-ok" role="status">
          {saved}
        </p>
      )}
      {change.isError && <ErrorNotice error={change.error} />}
      <RecordTable caption="Triggers" columns={["Trigger", "User", "Labels", "Status", "Actions"]}>
        {items.map((trigger) => (
          <tr key={trigger.trigger_id}>
            <td data-label="Trigger">{trigger.trigger_slug}</td>
            <td data-label="User">{trigger.user_id}</td>
            <td data-label="Labels">{trigger.labels.join(", ")}</td>
            <td data-label="Status">
              <StatusBadge status={trigger.status} />
              {trigger.status_reason && <div className="muted">{trigger.status_reason}</div>}
            </td>
            <td data-label="Actions">
              <button
                type="button"
                disabled={change.isPending}
                onClick={() => change.mutate({ trigger, op: trigger.status === "DISABLED" ? "enable" : "disable" })}
              >
                {trigger.status === "DISABLED" ? "Enable" : "Disable"}
              </button>{" "}
              <button
                type="button"
                disabled={trigger.status === "PENDING"}
                aria-label={`Edit ${trigger.trigger_slug} of ${trigger.user_id}`}
                onClick={() => {
                  setSaved(null);
                  setEditing(trigger);
                }}
              >
                Edit
              </button>{" "}
              <button type="button" className="danger" onClick={() => setDeleting(trigger)}>
                Delete
              </button>
            </td>
          </tr>
        ))}
      </RecordTable>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete ${deleting?.trigger_slug ?? ""} of ${deleting?.user_id ?? ""}?`}
        confirmLabel="Delete it"
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          if (deleting) change.mutate({ trigger: deleting, op: "delete" });
          setDeleting(null);
        }}
      >
        <p>Composio stops sending its events.</p>
      </ConfirmDialog>
    </>
  );
}
