import { type ToolPolicyDocument, type ToolPolicyResponse, toolPolicySchema } from "@kronos/shared/contracts";
import Form from "@rjsf/core";
import type { RJSFSchema, UiSchema } from "@rjsf/utils";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { z } from "zod";
import { query } from "../api/client";
import { useDebounced } from "../api/hooks";
import { ConfirmDialog, ErrorNotice, JsonView, Loading } from "../components/common";
import { SelectField, TextField } from "../components/fields";
import { formValidator } from "../forms/validator";
import { useSignedIn } from "../session";

/**
 * The form's schema is the API's own contract (toolPolicySchema) as JSON Schema: one description of a policy for
 * the gateway that checks it and the form that edits it. `allow` has three states (absent: the default or the
 * tenant's; null: every tool; a list), which a select above the form sets: the form edits the list only.
 */
function policyFormSchema(withAllowList: boolean): RJSFSchema {
  const generated = z.toJSONSchema(toolPolicySchema, { io: "input" }) as RJSFSchema & { $defs?: Record<string, RJSFSchema> };
  const schema = structuredClone(generated.$defs?.ToolPolicy ?? generated) as RJSFSchema;
  delete schema.$schema;
  const properties = schema.properties as Record<string, RJSFSchema>;
  const list = (properties.allow?.anyOf as RJSFSchema[] | undefined)?.find((option) => option.type === "array");
  if (withAllowList && list) properties.allow = list;
  else delete properties.allow;
  return schema;
}
const FORM_SCHEMAS = { list: policyFormSchema(true), other: policyFormSchema(false) };

type AllowMode = "unset" | "every" | "list";
const allowModeOf = (policy: ToolPolicyDocument | null): AllowMode =>
  policy?.allow === undefined ? "unset" : policy.allow === null ? "every" : "list";

const PATTERNS = 'Patterns: "*", a toolkit (github) or an action pattern in upper case (GMAIL_SEND_*, *_DELETE_*).';
const POLICY_UI: UiSchema = {
  allow: { "ui:title": "Only these tools", "ui:description": PATTERNS },
  deny: { "ui:title": "Denied tools", "ui:description": `Never run, even when allowed. ${PATTERNS}` },
  require_approval: {
    "ui:title": "Ask a person to approve",
    tools: { "ui:title": "Tools that need approval" },
    tags: { "ui:title": "Composio tool tags that need approval", "ui:description": "e.g. destructiveHint" },
  },
  api_key_may_approve: { "ui:title": "The tenant's API key may approve (otherwise only the user)" },
  sign_in_on_demand: { "ui:title": "Ask the user to sign in when the toolkit is not connected (otherwise the tool fails)" },
  "ui:submitButtonOptions": { submitText: "Save policy", props: { className: "primary" } },
};

const policyKey = (userId: string) => ["tool-policy", userId] as const;

export function ToolPoliciesPage() {
  const { api, kind } = useSignedIn();
  const [scope, setScope] = useState<"tenant" | "user">("tenant");
  const [userInput, setUserInput] = useState("");
  const debouncedUser = useDebounced(userInput.trim());
  const userId = scope === "user" ? debouncedUser : "";
  const id = useId();
  const policy = useQuery({
    queryKey: policyKey(userId),
    enabled: kind === "api_key" && (scope === "tenant" || userId !== ""),
    queryFn: async () => (await api.request<ToolPolicyResponse>("GET", `/policies/tools${query({ user_id: userId })}`)).body,
  });
  if (kind !== "api_key")
    return (
      <div className="page">
        <h1>Tool policies</h1>
        <p className="notice">Tool policies belong to the tenant: sign in with the tenant's API key to manage them.</p>
      </div>
    );
  return (
    <div className="page">
      <h1>Tool policies</h1>
      <p className="muted">Which tools your agents may run, which need a person's approval, for the whole tenant or one user.</p>
      <fieldset>
        <legend>Whose policy</legend>
        <label className="inline">
          <input type="radio" name={`${id}-scope`} checked={scope === "tenant"} onChange={() => setScope("tenant")} /> The tenant's
        </label>
        <label className="inline">
          <input type="radio" name={`${id}-scope`} checked={scope === "user"} onChange={() => setScope("user")} /> One user's override
        </label>
        {scope === "user" && <TextField label="User" value={userInput} onChange={setUserInput} autoComplete="off" />}
      </fieldset>
      {scope === "user" && userId === "" && <p className="muted">Give a user to see their override.</p>}
      {policy.isFetching && !policy.data && <Loading what="the policy" />}
      {policy.isError && <ErrorNotice error={policy.error} title="The policy could not be read" />}
      {policy.data && <PolicyEditor key={userId} answer={policy.data} userId={userId} />}
    </div>
  );
}

function PolicyEditor({ answer, userId }: { answer: ToolPolicyResponse; userId: string }) {
  const { api } = useSignedIn();
  const client = useQueryClient();
  const id = useId();
  // The tenant's switches start as they apply (a user's override leaves unset what it inherits).
  const [formData, setFormData] = useState<ToolPolicyDocument>(() =>
    userId
      ? (answer.policy ?? {})
      : {
          api_key_may_approve: answer.effective.api_key_may_approve,
          sign_in_on_demand: answer.effective.sign_in_on_demand,
          ...answer.policy,
        },
  );
  const [allowMode, setAllowMode] = useState<AllowMode>(allowModeOf(answer.policy));
  const [problem, setProblem] = useState<string | null>(null);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const path = `/policies/tools${query({ user_id: userId })}`;
  const onSaved = (saved: ToolPolicyResponse) => client.setQueryData(policyKey(userId), saved);
  const save = useMutation({
    mutationFn: async (policy: ToolPolicyDocument) => (await api.request<ToolPolicyResponse>("PUT", path, policy)).body,
    onSuccess: onSaved,
  });
  const remove = useMutation({
    mutationFn: async () => (await api.request<ToolPolicyResponse>("DELETE", path)).body,
    onSuccess: onSaved,
  });
  const whose = userId ? `${userId}'s override` : "the tenant's policy";
  return (
    <>
      <section className="card" aria-labelledby={`${id}-edit`}>
        <h2 id={`${id}-edit`}>Edit {whose}</h2>
        <p className="muted">
          {answer.policy === null
            ? "Nothing is stored: the defaults apply."
            : `Saved ${answer.updated_at ? new Date(answer.updated_at).toLocaleString() : ""} by ${answer.updated_by ?? "?"}.`}
          {userId && " A field left out keeps the tenant's value."}
        </p>
        <SelectField
          label="Allowed tools"
          value={allowMode}
          onChange={(mode) => setAllowMode(mode as AllowMode)}
          options={[
            { value: "unset", label: userId ? "As the tenant's policy says" : "Every tool (the default)" },
            { value: "every", label: "Every tool" },
            { value: "list", label: "Only the tools listed below" },
          ]}
        />
        <Form
          schema={allowMode === "list" ? FORM_SCHEMAS.list : FORM_SCHEMAS.other}
          uiSchema={POLICY_UI}
          validator={formValidator}
          formData={formData}
          showErrorList={false}
          onChange={(event) => setFormData((event.formData ?? {}) as ToolPolicyDocument)}
          onSubmit={(event) => {
            // The API's own schema first (it also checks the patterns), with its messages.
            const { allow, ...rest } = (event.formData ?? {}) as ToolPolicyDocument;
            const document = allowMode === "unset" ? rest : { ...rest, allow: allowMode === "every" ? null : (allow ?? []) };
            const checked = toolPolicySchema.safeParse(document);
            if (!checked.success)
              return setProblem(checked.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; "));
            setProblem(null);
            save.mutate(checked.data);
          }}
        />
        {problem && (
          <p className="notice notice-error" role="alert">
            {problem}
          </p>
        )}
        {save.isError && <ErrorNotice error={save.error} title="Not saved" />}
        {save.isSuccess && (
          <p className="notice notice-ok" role="status">
            Saved. New requests follow it on every gateway.
          </p>
        )}
        {answer.policy !== null && (
          <button type="button" className="danger" onClick={() => setConfirmRemove(true)}>
            Remove {whose}
          </button>
        )}
        {remove.isError && <ErrorNotice error={remove.error} title="Not removed" />}
      </section>
      <section className="card" aria-labelledby={`${id}-effective`}>
        <h2 id={`${id}-effective`}>What applies{userId ? ` to ${userId}` : ""}</h2>
        <JsonView value={answer.effective} label="Effective policy" />
      </section>
      <ConfirmDialog
        open={confirmRemove}
        title={`Remove ${whose}?`}
        confirmLabel="Remove it"
        onCancel={() => setConfirmRemove(false)}
        onConfirm={() => {
          setConfirmRemove(false);
          remove.mutate();
        }}
      >
        <p>
          {userId ? "The tenant's policy then applies to this user." : "The defaults then apply: every tool allowed, none needs approval."}
        </p>
      </ConfirmDialog>
    </>
  );
}
