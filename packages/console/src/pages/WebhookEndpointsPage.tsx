import {
  ALL_EVENT_TYPES,
  createWebhookEndpointBodySchema,
  DELIVERY_STATUSES,
  type DeliveryStatus,
  updateWebhookEndpointBodySchema,
  type WebhookDeliveryView,
  type WebhookEndpointView,
  type webhookEndpointWithSecretSchema,
} from "@kronos/shared/contracts";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import type { z } from "zod";
import { query } from "../api/client";
import type { Page } from "../api/hooks";
import { ConfirmDialog, Empty, ErrorNotice, InvalidNotice, Loading, RecordTable, StatusBadge } from "../components/common";
import { SelectField, TextField } from "../components/fields";
import { OperatorOnly, SecretOnce, useCursorPages } from "../components/operator";
import { useSignedIn } from "../session";

type EndpointWithSecret = z.infer<typeof webhookEndpointWithSecretSchema>;
const ENDPOINTS_KEY = ["webhook-endpoints"] as const;
const deliveriesKey = (endpointId: string) => ["webhook-deliveries", endpointId] as const;

const eventsOf = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((type) => type.trim())
    .filter(Boolean);

/** Outbound webhooks: where the tenant's events are sent, each endpoint's secret (shown once) and its delivery log. */
export function WebhookEndpointsPage() {
  return (
    <OperatorOnly title="Webhook endpoints" why="Webhook endpoints belong to the tenant">
      <WebhookEndpoints />
    </OperatorOnly>
  );
}

function WebhookEndpoints() {
  const { api } = useSignedIn();
  const id = useId();
  const [secret, setSecret] = useState<EndpointWithSecret | null>(null);
  const [open, setOpen] = useState<WebhookEndpointView | null>(null);
  const endpoints = useQuery({
    queryKey: ENDPOINTS_KEY,
    queryFn: async () => (await api.request<Page<WebhookEndpointView>>("GET", "/webhook-endpoints?limit=200")).body,
  });
  return (
    <div className="page">
      <h1>Webhook endpoints</h1>
      <p className="muted">Your URLs that receive the tenant's events, signed (Standard Webhooks), retried until they answer 2xx.</p>
      <EndpointForm onSaved={(created) => created && setSecret(created)} />
      {secret && <SecretOnce label={`Signing secret of ${secret.url}`} value={secret.secret} onDismiss={() => setSecret(null)} />}
      <section aria-labelledby={`${id}-list`}>
        <h2 id={`${id}-list`}>Endpoints</h2>
        {endpoints.isPending && <Loading what="webhook endpoints" />}
        {endpoints.isError && <ErrorNotice error={endpoints.error} title="The webhook endpoints could not be read" />}
        {endpoints.data && endpoints.data.items.length === 0 && <Empty>No webhook endpoint yet. Add one above.</Empty>}
        {endpoints.data && endpoints.data.items.length > 0 && (
          <EndpointTable items={endpoints.data.items} onSecret={setSecret} onOpen={setOpen} />
        )}
      </section>
      {open && <Deliveries endpoint={open} onClose={() => setOpen(null)} />}
    </div>
  );
}

/** Create (no `editing`) or edit an endpoint; checked with the API's own schema before it is sent. */
function EndpointForm({ editing, onSaved }: { editing?: WebhookEndpointView; onSaved: (created?: EndpointWithSecret) => void }) {
  const { api } = useSignedIn();
  const client = useQueryClient();
  const id = useId();
  const [form, setForm] = useState({
    url: editing?.url ?? "",
    events: editing?.events.join(", ") ?? "",
    description: editing?.description ?? "",
  });
  const [invalid, setInvalid] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: async (body: unknown) =>
      editing
        ? (await api.request<EndpointWithSecret>("PATCH", `/webhook-endpoints/${editing.id}`, body)).body
        : (await api.request<EndpointWithSecret>("POST", "/webhook-endpoints", body)).body,
    onSuccess: (saved) => {
      void client.invalidateQueries({ queryKey: ENDPOINTS_KEY });
      if (!editing) setForm({ url: "", events: "", description: "" });
      onSaved(editing ? undefined : saved);
    },
  });
  function submit(event: React.FormEvent) {
    event.preventDefault();
    const body = { url: form.url, events: eventsOf(form.events), description: form.description.trim() || null };
    const checked = (editing ? updateWebhookEndpointBodySchema : createWebhookEndpointBodySchema).safeParse(body);
    if (!checked.success) return setInvalid(checked.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; "));
    setInvalid(null);
    save.mutate(checked.data);
  }
  const title = editing ? `Edit ${editing.url}` : "Add an endpoint";
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{title}</h2>
      <form onSubmit={submit} noValidate className="grid-form">
        <TextField label="URL" type="url" required value={form.url} onChange={(url) => setForm({ ...form, url })} autoComplete="off" />
        <TextField
          label="Events"
          value={form.events}
          onChange={(events) => setForm({ ...form, events })}
          help={`Empty: every event. Any of ${ALL_EVENT_TYPES.join(", ")}`}
          autoComplete="off"
        />
        <TextField label="Description" value={form.description} onChange={(description) => setForm({ ...form, description })} />
        <div className="span">
          <InvalidNotice message={invalid} />
          {save.isError && <ErrorNotice error={save.error} title="Not saved" />}
          <button type="submit" className="primary" disabled={save.isPending}>
            {editing ? "Save endpoint" : "Add endpoint"}
          </button>{" "}
          {editing && (
            <button type="button" onClick={() => onSaved()}>
              Close
            </button>
          )}
        </div>
      </form>
    </section>
  );
}

type EndpointOp = "enable" | "disable" | "rotate-secret" | "delete";

function EndpointTable({
  items,
  onSecret,
  onOpen,
}: {
  items: WebhookEndpointView[];
  onSecret: (endpoint: EndpointWithSecret) => void;
  onOpen: (endpoint: WebhookEndpointView) => void;
}) {
  const { api } = useSignedIn();
  const client = useQueryClient();
  const [editing, setEditing] = useState<WebhookEndpointView | null>(null);
  const [deleting, setDeleting] = useState<WebhookEndpointView | null>(null);
  const change = useMutation({
    mutationFn: async ({ endpoint, op }: { endpoint: WebhookEndpointView; op: EndpointOp }) =>
      op === "delete"
        ? (await api.request<null>("DELETE", `/webhook-endpoints/${endpoint.id}`)).body
        : (await api.request<EndpointWithSecret>("POST", `/webhook-endpoints/${endpoint.id}/${op}`)).body,
    onSuccess: (answer) => {
      if (answer && "secret" in answer) onSecret(answer);
      return client.invalidateQueries({ queryKey: ENDPOINTS_KEY });
    },
  });
  return (
    <>
      {change.isError && <ErrorNotice error={change.error} />}
      <RecordTable caption="Webhook endpoints" columns={["URL", "Events", "State", "Last success", "Actions"]}>
        {items.map((endpoint) => (
          <tr key={endpoint.id}>
            <td data-label="URL">
              <code>{endpoint.url}</code>
              {endpoint.description && <div className="muted">{endpoint.description}</div>}
            </td>
            <td data-label="Events">{endpoint.events.length === 0 ? "All" : endpoint.events.join(", ")}</td>
            <td data-label="State">
              <StatusBadge status={endpoint.enabled ? "ACTIVE" : "INACTIVE"} />
              {endpoint.disabled_reason && <div className="muted">{endpoint.disabled_reason}</div>}
            </td>
            <td data-label="Last success">{endpoint.last_success_at ? new Date(endpoint.last_success_at).toLocaleString() : "Never"}</td>
            <td data-label="Actions" className="actions-cell">
              <button type="button" onClick={() => onOpen(endpoint)}>
                Deliveries
              </button>{" "}
              <button type="button" onClick={() => setEditing(endpoint)}>
                Edit
              </button>{" "}
              <button type="button" onClick={() => change.mutate({ endpoint, op: endpoint.enabled ? "disable" : "enable" })}>
                {endpoint.enabled ? "Disable" : "Enable"}
              </button>{" "}
              <button type="button" onClick={() => change.mutate({ endpoint, op: "rotate-secret" })}>
                Rotate secret
              </button>{" "}
              <button type="button" className="danger" onClick={() => setDeleting(endpoint)}>
                Delete
              </button>
            </td>
          </tr>
        ))}
      </RecordTable>
      {editing && <EndpointForm key={editing.id} editing={editing} onSaved={() => setEditing(null)} />}
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete ${deleting?.url ?? ""}?`}
        confirmLabel="Delete it"
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          if (deleting) change.mutate({ endpoint: deleting, op: "delete" });
          setDeleting(null);
        }}
      >
        <p>Its delivery log goes with it; nothing more is sent there.</p>
      </ConfirmDialog>
    </>
  );
}

/** An endpoint's delivery log, newest first, a page at a time; retry one, or replay what came after a date. */
function Deliveries({ endpoint, onClose }: { endpoint: WebhookEndpointView; onClose: () => void }) {
  const { api } = useSignedIn();
  const client = useQueryClient();
  const id = useId();
  const [status, setStatus] = useState<DeliveryStatus | "">("");
  const { cursor, reset, pager } = useCursorPages();
  const [since, setSince] = useState("");
  const deliveries = useQuery({
    queryKey: [...deliveriesKey(endpoint.id), status, cursor],
    queryFn: async () =>
      (
        await api.request<Page<WebhookDeliveryView>>(
          "GET",
          `/webhook-endpoints/${endpoint.id}/deliveries${query({ status, cursor, limit: 50 })}`,
        )
      ).body,
  });
  const refresh = () => client.invalidateQueries({ queryKey: deliveriesKey(endpoint.id) });
  const retry = useMutation({
    mutationFn: async (delivery: WebhookDeliveryView) =>
      (await api.request<WebhookDeliveryView>("POST", `/webhook-endpoints/${endpoint.id}/deliveries/${delivery.id}/retry`)).body,
    onSuccess: refresh,
  });
  const replay = useMutation({
    mutationFn: async () =>
      (
        await api.request<{ replayed: number }>("POST", `/webhook-endpoints/${endpoint.id}/replay`, {
          since: new Date(since).toISOString(),
        })
      ).body,
    onSuccess: refresh,
  });
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Deliveries to {endpoint.url}</h2>
      <div className="filters">
        <SelectField
          label="Delivery status"
          value={status}
          options={[{ value: "", label: "Any" }, ...DELIVERY_STATUSES.map((value) => ({ value, label: value }))]}
          onChange={(value) => {
            setStatus(value as DeliveryStatus | "");
            reset();
          }}
        />
        <TextField label="Replay events since" type="datetime-local" value={since} onChange={setSince} />
        <div className="actions-row">
          <button type="button" disabled={!since || replay.isPending} onClick={() => replay.mutate()}>
            Replay
          </button>{" "}
          <button type="button" onClick={onClose}>
            Close deliveries
          </button>
        </div>
      </div>
      {replay.data && (
        <p className="notice notice-ok" role="status">
          {replay.data.replayed} deliveries queued again.
        </p>
      )}
      {replay.isError && <ErrorNotice error={replay.error} title="Not replayed" />}
      {retry.isError && <ErrorNotice error={retry.error} title="Not retried" />}
      {deliveries.isPending && <Loading what="deliveries" />}
      {deliveries.isError && <ErrorNotice error={deliveries.error} title="The deliveries could not be read" />}
      {deliveries.data && deliveries.data.items.length === 0 && <Empty>No delivery yet.</Empty>}
      {deliveries.data && deliveries.data.items.length > 0 && (
        <RecordTable caption="Deliveries" columns={["Event", "Status", "Attempts", "Last answer", "Actions"]}>
          {deliveries.data.items.map((delivery) => (
            <tr key={delivery.id}>
              <td data-label="Event">
                {delivery.event_type}
                <div className="muted">{new Date(delivery.created_at).toLocaleString()}</div>
              </td>
              <td data-label="Status">
                <StatusBadge status={delivery.status} />
              </td>
              <td data-label="Attempts">{delivery.attempts}</td>
              <td data-label="Last answer">{delivery.last_error ?? delivery.last_status_code ?? "None yet"}</td>
              <td data-label="Actions">
                <button type="button" disabled={retry.isPending} onClick={() => retry.mutate(delivery)}>
                  Retry
                </button>
              </td>
            </tr>
          ))}
        </RecordTable>
      )}
      {pager(deliveries.data?.next_cursor)}
    </section>
  );
}
