import {
  type ActionView,
  EVENT_TYPES,
  type ExecutionAuthorization,
  type ExecutionView,
  executionStatusEventDataSchema,
  isFinalExecutionStatus,
  type ToolkitView,
} from "@kronos/shared/contracts";
import Form from "@rjsf/core";
import type { RJSFSchema } from "@rjsf/utils";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { keys, useActions, useExecution } from "../api/hooks";
import { ErrorNotice, JsonView, Loading, StatusBadge } from "../components/common";
import { TextField } from "../components/fields";
import { ToolkitPicker } from "../components/ToolkitPicker";
import { useFeedEvents } from "../feed";
import { formValidator } from "../forms/validator";
import { useSignedIn } from "../session";

const STEPS = ["QUEUED", "WAITING", "RUNNING", "FINISHED"] as const;

/** The action's input schema as rjsf takes it (Composio's are JSON-schema objects; anything else becomes "no input"). */
function inputSchema(action: ActionView): RJSFSchema {
  const schema = action.input_parameters;
  if (schema && typeof schema === "object" && !Array.isArray(schema)) return { title: "", ...(schema as RJSFSchema) };
  return { type: "object", properties: {} };
}

export function ToolRunnerPage() {
  const { api, kind, userId } = useSignedIn();
  const client = useQueryClient();
  const id = useId();
  const [toolkit, setToolkit] = useState<ToolkitView | null>(null);
  const [actionSlug, setActionSlug] = useState("");
  const [forUser, setForUser] = useState("");
  const [formData, setFormData] = useState<Record<string, unknown>>({});
  const [executionId, setExecutionId] = useState<string | null>(null);
  const actions = useActions(toolkit?.slug ?? null);
  const action = actions.data?.items.find((item) => item.slug === actionSlug) ?? null;
  const execution = useExecution(executionId);

  const [authorization, setAuthorization] = useState<ExecutionAuthorization | null>(null);
  useFeedEvents<{ execution_id: string }>(EVENT_TYPES.executionCompleted, (data) => {
    if (data.execution_id === executionId) void client.invalidateQueries({ queryKey: keys.execution(data.execution_id) });
  });
  // Every step of the lifecycle; while AWAITING_AUTH the event carries the sign-in link (sign-in on demand).
  useFeedEvents(EVENT_TYPES.executionStatus, (data) => {
    const event = executionStatusEventDataSchema.safeParse(data);
    if (!event.success || event.data.execution_id !== executionId) return;
    setAuthorization(event.data.authorization);
    void client.invalidateQueries({ queryKey: keys.execution(event.data.execution_id) });
  });

  const run = useMutation({
    mutationFn: async (params: Record<string, unknown>) => {
      const user = kind === "api_key" ? forUser.trim() : userId;
      const answer = await api.request<ExecutionView | { execution_id: string }>(
        "POST",
        "/composio/tools/execute",
        { user_id: user, action_name: actionSlug, params },
        // A retried click never runs the tool twice.
        { "idempotency-key": crypto.randomUUID() },
      );
      return answer.body.execution_id;
    },
    onSuccess: (executionIdStarted) => setExecutionId(executionIdStarted),
  });

  return (
    <div className="page">
      <h1>Tool runner</h1>
      <p className="muted">Run an action on a connected account; the form comes from the action's input schema.</p>
      <section className="card" aria-labelledby={`${id}-pick`}>
        <h2 id={`${id}-pick`}>Action</h2>
        <ToolkitPicker
          value={toolkit}
          onChange={(next) => {
            setToolkit(next);
            setActionSlug("");
            setFormData({});
          }}
        />
        {toolkit && (
          <div className="field">
            <label htmlFor={`${id}-action`}>Action of {toolkit.name}</label>
            {actions.isPending && <Loading what="actions" />}
            {actions.isError && <ErrorNotice error={actions.error} title="The actions could not be read" />}
            {actions.data && (
              <select
                id={`${id}-action`}
                value={actionSlug}
                onChange={(event) => {
                  setActionSlug(event.target.value);
                  setFormData({});
                }}
              >
                <option value="">Choose an action…</option>
                {actions.data.items.map((item) => (
                  <option key={item.slug} value={item.slug}>
                    {item.name} ({item.slug})
                  </option>
                ))}
              </select>
            )}
          </div>
        )}
        {action?.description && <p className="muted">{action.description}</p>}
      </section>
      {action && (
        <section className="card" aria-labelledby={`${id}-input`}>
          <h2 id={`${id}-input`}>Input</h2>
          {kind === "api_key" && <TextField label="Run as user" value={forUser} onChange={setForUser} required autoComplete="off" />}
          <Form
            schema={inputSchema(action)}
            validator={formValidator}
            formData={formData}
            onChange={(event) => setFormData((event.formData ?? {}) as Record<string, unknown>)}
            onSubmit={(event) => {
              setExecutionId(null);
              setAuthorization(null);
              run.mutate((event.formData ?? {}) as Record<string, unknown>);
            }}
            showErrorList={false}
            uiSchema={{
              "ui:submitButtonOptions": {
                submitText: run.isPending ? "Starting…" : "Run",
                props: { className: "primary", disabled: run.isPending },
              },
            }}
          />
          {run.isError && <ErrorNotice error={run.error} title="The action did not start" />}
        </section>
      )}
      {executionId && (
        <section className="card" aria-labelledby={`${id}-run`}>
          <h2 id={`${id}-run`}>Execution</h2>
          {execution.isError && <ErrorNotice error={execution.error} title="The execution could not be read" />}
          {execution.data ? (
            <ExecutionProgress execution={execution.data} authorization={authorization} />
          ) : (
            <Loading what="the execution" />
          )}
        </section>
      )}
    </div>
  );
}

type Decision = "approve" | "deny" | "cancel";

/**
 * Approve or deny an execution parked AWAITING_APPROVAL (the user's own token, or an API key when the policy lets
 * it), or cancel one that has not started; the API's refusal (403, 409) is shown as it says it.
 */
function ExecutionDecisions({ execution }: { execution: ExecutionView }) {
  const { api } = useSignedIn();
  const client = useQueryClient();
  const decide = useMutation({
    mutationFn: async (decision: Decision) =>
      (await api.request<ExecutionView>("POST", `/composio/executions/${execution.execution_id}/${decision}`, {})).body,
    onSuccess: (view) => client.setQueryData(keys.execution(view.execution_id), view),
  });
  return (
    <div className="actions-row">
      {execution.status === "AWAITING_APPROVAL" && (
        <>
          <button type="button" className="primary" disabled={decide.isPending} onClick={() => decide.mutate("approve")}>
            Approve
          </button>{" "}
          <button type="button" className="danger" disabled={decide.isPending} onClick={() => decide.mutate("deny")}>
            Deny
          </button>{" "}
        </>
      )}
      <button type="button" disabled={decide.isPending} onClick={() => decide.mutate("cancel")}>
        Cancel the execution
      </button>
      {decide.isError && <ErrorNotice error={decide.error} title="Not done" />}
    </div>
  );
}

/** Where an execution is: QUEUED → (waiting for a sign-in or an approval) → RUNNING → its final status. */
function ExecutionProgress({ execution, authorization }: { execution: ExecutionView; authorization: ExecutionAuthorization | null }) {
  const finished = isFinalExecutionStatus(execution.status);
  const waiting = execution.status === "AWAITING_AUTH" || execution.status === "AWAITING_APPROVAL";
  const reached = finished ? 3 : execution.status === "RUNNING" ? 2 : waiting ? 1 : 0;
  const label = (step: (typeof STEPS)[number]) =>
    step === "FINISHED" && finished ? execution.status : step === "WAITING" ? (waiting ? execution.status : "WAITING (if needed)") : step;
  return (
    <div>
      <ol className="steps" aria-label="Execution states">
        {STEPS.map((step, index) => (
          <li key={step} className={index <= reached ? "done" : ""} aria-current={index === reached ? "step" : undefined}>
            {label(step)}
          </li>
        ))}
      </ol>
      <p role="status" aria-live="polite">
        {execution.action_name} is <StatusBadge status={execution.status} />
        {execution.duration_ms !== null && <span className="muted"> in {execution.duration_ms} ms</span>}
        {execution.attempts > 1 && <span className="muted"> after {execution.attempts} attempts</span>}
      </p>
      {execution.status === "AWAITING_AUTH" && (
        <div className="notice">
          <p>The user has no usable connection for this tool: it runs once they sign in.</p>
          {authorization?.redirect_url && (
            <a className="button primary" href={authorization.redirect_url} target="_blank" rel="noopener noreferrer">
              Open the sign-in page (new window)
            </a>
          )}
        </div>
      )}
      {execution.status === "AWAITING_APPROVAL" && (
        <p className="notice">A tool policy asks for a person's approval before this tool runs; it runs once approved.</p>
      )}
      {!finished && execution.status !== "RUNNING" && <ExecutionDecisions execution={execution} />}
      {finished && execution.status !== "SUCCEEDED" && (
        <>
          <div className="notice notice-error" role="alert">
            <strong>{execution.error?.code ?? execution.status}:</strong>{" "}
            {execution.error?.message ?? `The execution ended ${execution.status}.`}
          </div>
          {execution.error && <JsonView value={execution.error} label="Error" />}
        </>
      )}
      {execution.status === "SUCCEEDED" && (
        <>
          {execution.result_truncated && <p className="notice">The result was too large and is shown truncated.</p>}
          <h3>Result</h3>
          <JsonView value={execution.data} label="Result" />
        </>
      )}
    </div>
  );
}
