import { type apiKeyViewSchema, createApiKeyBodySchema, type createdApiKeySchema, KEY_SCOPES } from "@kronos/shared/contracts";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import type { z } from "zod";
import { ConfirmDialog, Empty, ErrorNotice, InvalidNotice, Loading, RecordTable, StatusBadge } from "../components/common";
import { TextField } from "../components/fields";
import { OperatorOnly, SecretOnce } from "../components/operator";
import { useSignedIn } from "../session";

type ApiKeyView = z.infer<typeof apiKeyViewSchema>;
type CreatedApiKey = z.infer<typeof createdApiKeySchema>;
const KEYS_KEY = ["api-keys"] as const;

const stateOf = (key: ApiKeyView) =>
  key.revoked_at ? "REVOKED" : key.expires_at && Date.parse(key.expires_at) <= Date.now() ? "EXPIRED" : "ACTIVE";

/** The tenant's API keys: scoped, shown once at creation and rotation, revocable. */
export function ApiKeysPage() {
  return (
    <OperatorOnly title="API keys" why="API keys belong to the tenant">
      <ApiKeys />
    </OperatorOnly>
  );
}

function ApiKeys() {
  const { api } = useSignedIn();
  const client = useQueryClient();
  const id = useId();
  const [shown, setShown] = useState<CreatedApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKeyView | null>(null);
  const keys = useQuery({
    queryKey: KEYS_KEY,
    queryFn: async () => (await api.request<{ items: ApiKeyView[] }>("GET", "/api-keys")).body,
  });
  const change = useMutation({
    mutationFn: async ({ key, op }: { key: ApiKeyView; op: "revoke" | "rotate" }) =>
      op === "revoke"
        ? (await api.request<null>("DELETE", `/api-keys/${key.id}`)).body
        : (await api.request<CreatedApiKey>("POST", `/api-keys/${key.id}/rotate`, {})).body,
    onSuccess: (answer) => {
      if (answer) setShown(answer);
      return client.invalidateQueries({ queryKey: KEYS_KEY });
    },
  });
  return (
    <div className="page">
      <h1>API keys</h1>
      <p className="muted">Keys for your servers, each with the scopes it needs. A key is shown once, when it is made.</p>
      <CreateApiKey onCreated={setShown} />
      {shown && <SecretOnce label={`API key ${shown.name || shown.prefix}`} value={shown.api_key} onDismiss={() => setShown(null)} />}
      <section aria-labelledby={`${id}-list`}>
        <h2 id={`${id}-list`}>Keys</h2>
        {change.isError && <ErrorNotice error={change.error} />}
        {keys.isPending && <Loading what="API keys" />}
        {keys.isError && <ErrorNotice error={keys.error} title="The API keys could not be read" />}
        {keys.data && keys.data.items.length === 0 && <Empty>No API key.</Empty>}
        {keys.data && keys.data.items.length > 0 && (
          <RecordTable caption="API keys" columns={["Name", "Prefix", "Scopes", "Last used", "State", "Actions"]}>
            {keys.data.items.map((key) => (
              <tr key={key.id}>
                <td data-label="Name">{key.name || "(unnamed)"}</td>
                <td data-label="Prefix">
                  <code>{key.prefix}…</code>
                </td>
                <td data-label="Scopes">{key.scopes.join(", ")}</td>
                <td data-label="Last used">{key.last_used_at ? new Date(key.last_used_at).toLocaleString() : "Never"}</td>
                <td data-label="State">
                  <StatusBadge status={stateOf(key)} />
                  {key.expires_at && !key.revoked_at && <div className="muted">until {new Date(key.expires_at).toLocaleString()}</div>}
                </td>
                <td data-label="Actions">
                  {!key.revoked_at && (
                    <>
                      <button type="button" disabled={change.isPending} onClick={() => change.mutate({ key, op: "rotate" })}>
                        Rotate
                      </button>{" "}
                      <button type="button" className="danger" onClick={() => setRevoking(key)}>
                        Revoke
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </RecordTable>
        )}
      </section>
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke ${revoking?.name || revoking?.prefix || "this key"}?`}
        confirmLabel="Revoke it"
        onCancel={() => setRevoking(null)}
        onConfirm={() => {
          if (revoking) change.mutate({ key: revoking, op: "revoke" });
          setRevoking(null);
        }}
      >
        <p>It stops working at once, everywhere. If this console is signed in with it, you will be asked to sign in again.</p>
      </ConfirmDialog>
    </div>
  );
}

function CreateApiKey({ onCreated }: { onCreated: (key: CreatedApiKey) => void }) {
  const { api } = useSignedIn();
  const client = useQueryClient();
  const id = useId();
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>([]);
  const [invalid, setInvalid] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: async (body: unknown) => (await api.request<CreatedApiKey>("POST", "/api-keys", body)).body,
    onSuccess: (created) => {
      setName("");
      setScopes([]);
      onCreated(created);
      return client.invalidateQueries({ queryKey: KEYS_KEY });
    },
  });
  function submit(event: React.FormEvent) {
    event.preventDefault();
    const checked = createApiKeyBodySchema.safeParse({ name, scopes });
    if (!checked.success) return setInvalid(checked.error.issues.map((issue) => issue.message).join("; "));
    setInvalid(null);
    create.mutate(checked.data);
  }
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Create an API key</h2>
      <form onSubmit={submit} noValidate className="grid-form">
        <TextField label="Key name" value={name} onChange={setName} autoComplete="off" />
        <fieldset className="span">
          <legend>Scopes</legend>
          {KEY_SCOPES.map((scope) => (
            <label key={scope} className="inline">
              <input
                type="checkbox"
                checked={scopes.includes(scope)}
                onChange={(event) => setScopes(event.target.checked ? [...scopes, scope] : scopes.filter((s) => s !== scope))}
              />{" "}
              {scope === "*" ? "* (everything)" : scope}
            </label>
          ))}
        </fieldset>
        <div className="span">
          <InvalidNotice message={invalid} />
          {create.isError && <ErrorNotice error={create.error} title="The key was not created" />}
          <button type="submit" className="primary" disabled={create.isPending}>
            Create API key
          </button>
        </div>
      </form>
    </section>
  );
}
