import { type AuthConfigView, createAuthConfigBodySchema, updateAuthConfigBodySchema } from "@kronos/shared/contracts";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { type AuthConfigFilters, keys, useAuthConfigs, useDebounced } from "../api/hooks";
import { ConfirmDialog, Empty, ErrorNotice, Loading, StatusBadge } from "../components/common";
import { SelectField, TextField } from "../components/fields";
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

const SCHEME_OPTIONS = [
  { value: "OAUTH2", label: "OAuth 2" },
  { value: "OAUTH1", label: "OAuth 1" },
];
const MANAGED_OPTIONS = [
  { value: "", label: "Anyone" },
  { value: "true", label: "Composio" },
  { value: "false", label: "Us (custom)" },
];

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
          <TextField
            label="Name contains"
            type="search"
            value={filters.search ?? ""}
            onChange={(search) => setFilters({ ...filters, search })}
          />
          <TextField
            label="Toolkit"
            value={filters.toolkit_slug ?? ""}
            onChange={(toolkit) => setFilters({ ...filters, toolkit_slug: toolkit.trim() })}
          />
          <SelectField
            label="Managed by"
            value={filters.is_composio_managed ?? ""}
            options={MANAGED_OPTIONS}
            onChange={(managed) => setFilters({ ...filters, is_composio_managed: managed as AuthConfigFilters["is_composio_managed"] })}
          />
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
  const field = (
    name: keyof typeof empty,
    label: string,
    props: Omit<React.InputHTMLAttributes<HTMLInputElement>, "id" | "value" | "onChange"> = {},
  ) => (
    <TextField
      label={label}
      value={form[name]}
      onChange={(value) => setForm({ ...form, [name]: value })}
      error={errors[name] ?? errors[`credentials.${name}`]}
      {...props}
    />
  );
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Create an OAuth2 auth config</h2>
      <form onSubmit={submit} noValidate className="grid-form">
        {field("name", "Name", { required: true, autoComplete: "off" })}
        {field("toolkit_slug", "Toolkit", { required: true, placeholder: "github", autoComplete: "off" })}
        <SelectField
          label="Auth scheme"
          value={form.auth_scheme}
          options={SCHEME_OPTIONS}
          onChange={(auth_scheme) => setForm({ ...form, auth_scheme })}
        />
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
        <TextField label="Name" value={form.name} onChange={(name) => setForm({ ...form, name })} />
        <TextField
          label="New client id"
          value={form.client_id}
          onChange={(client_id) => setForm({ ...form, client_id })}
          autoComplete="off"
        />
        <TextField
          label="New client secret"
          type="password"
          value={form.client_secret}
          onChange={(client_secret) => setForm({ ...form, client_secret })}
          autoComplete="new-password"
          help="Leave empty to keep the current one (it is never shown)."
        />
        <TextField label="Scopes" value={form.scopes} onChange={(scopes) => setForm({ ...form, scopes })} autoComplete="off" />
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
