import { labelsSchema, type TriggerTypeView, type TriggerView, updateTriggerBodySchema } from "@kronos/shared/contracts";
import Form from "@rjsf/core";
import type { RJSFSchema } from "@rjsf/utils";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState } from "react";
import { ErrorNotice, InvalidNotice, Loading } from "../components/common";
import { TextField } from "../components/fields";
import { formValidator } from "../forms/validator";
import { useSignedIn } from "../session";

export const labelsOf = (text: string) =>
  text
    .split(",")
    .map((label) => label.trim())
    .filter(Boolean);

/**
 * Edits one trigger's config (the form generated from its type's config schema, filled with the current config) and
 * labels: PUT /composio/triggers/{id}. A new config is checked against the type's schema by the gateway before it
 * reaches Composio, and the trigger's row changes once Composio has taken it.
 */
export function TriggerEditor({
  trigger,
  queryKey,
  onDone,
}: {
  trigger: TriggerView;
  queryKey: readonly unknown[];
  /** Closes the editor: `changed` after a save. */
  onDone: (changed: boolean) => void;
}) {
  const { api } = useSignedIn();
  const client = useQueryClient();
  const id = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  const [config, setConfig] = useState<Record<string, unknown>>(trigger.config);
  const [labels, setLabels] = useState(trigger.labels.join(", "));
  const [invalid, setInvalid] = useState<string | null>(null);
  // Keyboard and screen-reader users land on the editor they opened.
  useEffect(() => heading.current?.focus(), []);
  const type = useQuery({
    queryKey: ["trigger-type", trigger.trigger_slug],
    queryFn: async () =>
      (await api.request<TriggerTypeView>("GET", `/composio/triggers/types/${encodeURIComponent(trigger.trigger_slug)}`)).body,
  });
  const save = useMutation({
    mutationFn: async (body: unknown) => (await api.request<unknown>("PUT", `/composio/triggers/${trigger.trigger_id}`, body)).body,
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey });
      onDone(true);
    },
  });
  function submit(formData: Record<string, unknown>) {
    const labelsChecked = labelsSchema.safeParse(labelsOf(labels));
    const checked = updateTriggerBodySchema.safeParse({ config: formData, labels: labelsOf(labels) });
    if (!checked.success || !labelsChecked.success)
      return setInvalid(
        (checked.error ?? labelsChecked.error)?.issues.map((issue) => `${issue.path.join(".") || "form"}: ${issue.message}`).join("; ") ??
          null,
      );
    setInvalid(null);
    save.mutate(checked.data);
  }
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} ref={heading} tabIndex={-1}>
        Edit {trigger.trigger_slug} of {trigger.user_id}
      </h2>
      <TextField label="Labels of the trigger" value={labels} onChange={setLabels} autoComplete="off" />
      {type.isPending && <Loading what="the trigger type" />}
      {type.isError && <ErrorNotice error={type.error} title="The trigger type could not be read" />}
      {type.data && (
        <Form
          // Its own ids: the create form on the same page has the same fields (a label must find its own input).
          idPrefix="edit"
          schema={type.data.config as RJSFSchema}
          validator={formValidator}
          formData={config}
          onChange={(event) => setConfig((event.formData ?? {}) as Record<string, unknown>)}
          onSubmit={(event) => submit((event.formData ?? {}) as Record<string, unknown>)}
          showErrorList={false}
          uiSchema={{ "ui:submitButtonOptions": { submitText: "Save trigger", props: { className: "primary" } } }}
        />
      )}
      <InvalidNotice message={invalid} />
      {save.isError && <ErrorNotice error={save.error} title="The trigger was not changed" />}
      <div className="actions">
        <button type="button" onClick={() => onDone(false)}>
          Cancel editing
        </button>
      </div>
    </section>
  );
}
