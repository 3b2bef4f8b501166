import { type AuthConfigView, createAuthConfigBodySchema, updateAuthConfigBodySchema } from "@kronos/shared/contracts";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { type AuthConfigFilters, keys, useAuthConfigs, useDebounced } from "../api/hooks";
import { ConfirmDialog, Empty, ErrorNotice, Loading, StatusBadge } from "../components/common";
import { useSignedIn } from "../session";

const scopesOf = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((scope) => scope.trim())
    .filter(Boolean);

/** Field errors from a zod result, by the field's path ("credentials.client_id"). */
function fieldErrors(issues: { path: PropertyKey[]; message: string }[]): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of issues) errors[issue.path.join(".") || "form"] ??= issue.message;
  return errors;
}

export function AuthConfigsPage() {
  const { kind } = useSignedIn();
  if (kind !== "api_key")
    return (
      <div className="page">
        <h1>Auth configs</h1>
        <p className="notice">Auth configs belong to the tenant: sign in with the tenant's API key to manage them.</p>
      </div>
    );
  return <AuthConfigsManager />;
}

function AuthConfigsManager() {
  const id = useId();
  const [filters, setFilters] = useState<AuthConfigFilters>({ search: "", toolkit_slug: "", is_composio_managed: "", show_disabled: true });
  const debounced = useDebounced(filters);
  const configs = useAuthConfigs(debounced);
  const [editing, setEditing] = useState<AuthConfigView | null>(null);
  return (
    <div className="page">
      <h1>Auth configs</h1>
      <p className="muted">How your users' accounts are authorised: Composio-managed apps, or your own OAuth apps.</p>
      <CreateAuthConfig />
      <section aria-labelledby={`${id}-list`}>
        <h2 id={`${id}-list`}>Auth configs</h2>
        <fieldset className="filters">
          <legend>Filter</legend>
          <div className="field">
            <label htmlFor={`${id}-search`}>Name contains</label>
            <input
              id={`${id}-search`}
              type="search"
              value={filters.search}
              onChange={(event) => setFilters({ ...filters, search: event.target.value })}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-toolkit`}>Toolkit</label>
            <input
              id={`${id}-toolkit`}
              value={filters.toolkit_slug}
              onChange={(event) => setFilters({ ...filters, toolkit_slug: event.target.value.trim() })}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-managed`}>Managed by</label>
            <select
              id={`${id}-managed`}
              value={filters.is_composio_managed}
              onChange={(event) =>
                setFilters({ ...filters, is_composio_managed: event.target.value as AuthConfigFilters["is_composio_managed"] })
              }
            >
              <option value="">Anyone</option>
              <option value="true">Composio</option>
              <option value="false">Us (custom)</option>
            </select>
          </div>
          <label className="inline">
            <input
              type="checkbox"
              checked={filters.show_disabled}
              onChange={(event) => setFilters({ ...filters, show_disabled: event.target.checked })}
            />{" "}
            Show disabled
          </label>
        </fieldset>
        {configs.isPending && <Loading what="auth configs" />}
        {configs.isError && <ErrorNotice error={configs.error} title="The auth configs could not be read" />}
        {configs.data && configs.data.items.length === 0 && <Empty>No auth config matches. Create one above.</Empty>}
        {configs.data && configs.data.items.length > 0 && <AuthConfigTable items={configs.data.items} onEdit={setEditing} />}
      </section>
      {editing && <EditAuthConfig config={editing} onDone={() => setEditing(null)} />}
    </div>
  );
}

function CreateAuthConfig() {
  const { api } = useSignedIn();
  const client = useQueryClient();
  const id = useId();
  const empty = { name: "", toolkit_slug: "", auth_scheme: "OAUTH2", client_id: "", client_secret: "", scopes: "" };
  const [form, setForm] = useState(empty);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [created, setCreated] = useState<AuthConfigView | null>(null);
  const create = useMutation({
    mutationFn: async (body: unknown) => (await api.request<AuthConfigView>("POST", "/composio/auth-configs", body)).body,
    onSuccess: (config) => {
      setCreated(config);
      setForm(empty); // the secret leaves the page with the form: it is never shown again
      void client.invalidateQueries({ queryKey: keys.authConfigs });
    },
  });
  function submit(event: React.FormEvent) {
    event.preventDefault();
    setCreated(null);
    const body = {
      name: form.name,
      toolkit_slug: form.toolkit_slug,
      auth_scheme: form.auth_scheme,
      credentials: {
        ...(form.client_id ? { client_id: form.client_id } : {}),
        ...(form.client_secret ? { client_secret: form.client_secret } : {}),
        ...(form.scopes ? { scopes: scopesOf(form.scopes) } : {}),
      },
    };
    // The API's own schema, checked before sending: the same messages, without a round trip.
    const checked = createAuthConfigBodySchema.safeParse(body);
    if (!checked.success) return setErrors(fieldErrors(checked.error.issues));
    setErrors({});
    create.mutate(checked.data);
  }
  const field = (name: keyof typeof empty, label: string, props: React.InputHTMLAttributes<HTMLInputElement> = {}) => {
    const error = errors[name] ?? errors[`credentials.${name}`];
    return (
      <div className="field">
        <label htmlFor={`${id}-${name}`}>{label}</label>
        <input
          id={`${id}-${name}`}
          value={form[name]}
          onChange={(event) => setForm({ ...form, [name]: event.target.value })}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${id}-${name}-error` : undefined}
          {...props}
        />
        {error && (
          <p id={`${id}-${name}-error`} className="field-error">
            {error}
          </p>
        )}
      </div>
    );
  };
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Create an OAuth2 auth config</h2>
      <form onSubmit={submit} noValidate className="grid-form">
        {field("name", "Name", { required: true, autoComplete: "off" })}
        {field("toolkit_slug", "Toolkit", { required: true, placeholder: "github", autoComplete: "off" })}
        <div className="field">
          <label htmlFor={`${id}-scheme`}>Auth scheme</label>
          <select id={`${id}-scheme`} value={form.auth_scheme} onChange={(event) => setForm({ ...form, auth_scheme: event.target.value })}>
            <option value="OAUTH2">OAuth 2</option>
            <option value="OAUTH1">OAuth 1</option>
          </select>
        </div>
        {field("client_id", "Client id", { required: true, autoComplete: "off" })}
        {field("client_secret", "Client secret", { required: true, type: "password", autoComplete: "new-password" })}
        {field("scopes", "Scopes", { placeholder: "repo, read:user", autoComplete: "off" })}
        <div className="span">
          {create.isError && <ErrorNotice error={create.error} title="The auth config was not created" />}
          {created && (
            <p className="notice notice-ok" role="status">
              Created {created.name} ({created.id}). The client secret was sent to Composio and is not shown again.
            </p>
          )}
          <button type="submit" className="primary" disabled={create.isPending}>
            {create.isPending ? "Creating…" : "Create auth config"}
          </button>
        </div>
      </form>
    </section>
  );
}

function AuthConfigTable({ items, onEdit }: { items: AuthConfigView[]; onEdit: (config: AuthConfigView) => void }) {
  const { api } = useSignedIn();
  const client = useQueryClient();
  const [deleting, setDeleting] = useState<AuthConfigView | null>(null);
  const change = useMutation({
    mutationFn: async ({ config, op }: { config: AuthConfigView; op: "enable" | "disable" | "delete" }) =>
      op === "delete"
        ? (await api.request<null>("DELETE", `/composio/auth-configs/${config.id}`)).body
        : (await api.request<AuthConfigView>("POST", `/composio/auth-configs/${config.id}/${op}`)).body,
    onSuccess: () => client.invalidateQueries({ queryKey: keys.authConfigs }),
  });
  return (
    <>
      {change.isError && <ErrorNotice error={change.error} />}
      <table className="table">
        <caption className="sr-only">Auth configs</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Toolkit</th>
            <th scope="col">Scheme</th>
            <th scope="col">Managed by</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {items.map((config) => (
            <tr key={config.id} data-auth-config-id={config.id}>
              <td data-label="Name">
                {config.name}
                <div className="muted small">{config.id}</div>
              </td>
              <td data-label="Toolkit">{config.toolkit_slug}</td>
              <td data-label="Scheme">{config.auth_scheme}</td>
              <td data-label="Managed by">{config.is_composio_managed ? "Composio" : "Us"}</td>
              <td data-label="State">
                <StatusBadge status={config.enabled ? "ACTIVE" : "INACTIVE"} />
              </td>
              <td data-label="Actions" className="row-actions">
                <button type="button" onClick={() => onEdit(config)} disabled={config.is_composio_managed}>
                  Edit
                </button>
                <button type="button" onClick={() => change.mutate({ config, op: config.enabled ? "disable" : "enable" })}>
                  {config.enabled ? "Disable" : "Enable"}
                </button>
                <button type="button" className="danger" onClick={() => setDeleting(config)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete ${deleting?.name ?? "this auth config"}?`}
        confirmLabel="Delete it"
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          if (deleting) change.mutate({ config: deleting, op: "delete" });
          setDeleting(null);
        }}
      >
        <p>It is deleted at Composio. Accounts connected through it stop working. This cannot be undone.</p>
      </ConfirmDialog>
    </>
  );
}

function EditAuthConfig({ config, onDone }: { config: AuthConfigView; onDone: () => void }) {
  const { api } = useSignedIn();
  const client = useQueryClient();
  const id = useId();
  const [form, setForm] = useState({ name: config.name, client_id: "", client_secret: "", scopes: "" });
  const [problem, setProblem] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: async (body: unknown) => (await api.request<AuthConfigView>("PUT", `/composio/auth-configs/${config.id}`, body)).body,
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.authConfigs });
      onDone();
    },
  });
  function submit(event: React.FormEvent) {
    event.preventDefault();
    const credentials = {
      ...(form.client_id ? { client_id: form.client_id } : {}),
      ...(form.client_secret ? { client_secret: form.client_secret } : {}),
      ...(form.scopes ? { scopes: scopesOf(form.scopes) } : {}),
    };
    const body = {
      ...(form.name !== config.name ? { name: form.name } : {}),
      ...(Object.keys(credentials).length ? { credentials } : {}),
    };
    const checked = updateAuthConfigBodySchema.safeParse(body);
    if (!checked.success) return setProblem(checked.error.issues.map((issue) => issue.message).join("; "));
    setProblem(null);
    save.mutate(checked.data);
  }
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Edit {config.name}</h2>
      <form onSubmit={submit} noValidate className="grid-form">
        <div className="field">
          <label htmlFor={`${id}-name`}>Name</label>
          <input id={`${id}-name`} value={form.name} onChange={(event) => setForm({ ...form, name: event.target.value })} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-client-id`}>New client id</label>
          <input
            id={`${id}-client-id`}
            value={form.client_id}
            onChange={(event) => setForm({ ...form, client_id: event.target.value })}
            autoComplete="off"
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-secret`}>New client secret</label>
          <input
            id={`${id}-secret`}
            type="password"
            value={form.client_secret}
            onChange={(event) => setForm({ ...form, client_secret: event.target.value })}
            autoComplete="new-password"
            aria-describedby={`${id}-secret-help`}
          />
          <p id={`${id}-secret-help`} className="help">
            Leave empty to keep the current one (it is never shown).
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${id}-scopes`}>Scopes</label>
          <input
            id={`${id}-scopes`}
            value={form.scopes}
            onChange={(event) => setForm({ ...form, scopes: event.target.value })}
            autoComplete="off"
          />
        </div>
        <div className="span">
          {problem && (
            <p className="notice notice-error" role="alert">
              {problem}
            </p>
          )}
          {save.isError && <ErrorNotice error={save.error} title="Not saved" />}
          <button type="submit" className="primary" disabled={save.isPending}>
            Save
          </button>{" "}
          <button type="button" onClick={onDone}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}
