import { EVENT_TYPES, type ExecutionStatus, type ExecutionView, type executionPageSchema } from "@kronos/shared/contracts";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import type { z } from "zod";
import { query } from "../api/client";
import { Empty, ErrorNotice, JsonView, Loading } from "../components/common";
import { TextField } from "../components/fields";
import { useCursorPages } from "../components/operator";
import { useFeedEvents } from "../feed";
import { useSignedIn } from "../session";

type ExecutionPage = z.infer<typeof executionPageSchema>;
const INBOX_KEY = ["executions-inbox"] as const;

/** How many parked executions a list shows at once; "Older" pages through the rest. */
const PAGE_SIZE = 20;

/** One page of the parked executions with one status (a user token: its own; an API key: the tenant's), newest first. */
function useParked(status: ExecutionStatus, cursor: string | undefined) {
  const { api } = useSignedIn();
  return useQuery({
    queryKey: [...INBOX_KEY, status, cursor],
    queryFn: async () =>
      (await api.request<ExecutionPage>("GET", `/composio/executions${query({ status, cursor, limit: PAGE_SIZE })}`)).body,
    placeholderData: (previous) => previous,
  });
}

/**
 * What waits for a person: executions a tool policy parked AWAITING_APPROVAL (approve or deny, with a reason), and
 * executions parked AWAITING_AUTH until their user signs in (the link). Live: a new request or a status change on
 * the feed re-reads both lists.
 */
export function ApprovalsPage() {
  const { kind } = useSignedIn();
  const client = useQueryClient();
  const refresh = () => void client.invalidateQueries({ queryKey: INBOX_KEY });
  useFeedEvents(EVENT_TYPES.executionApprovalRequested, refresh);
  useFeedEvents(EVENT_TYPES.executionStatus, refresh);
  const approvalPages = useCursorPages("Pages of executions waiting for approval");
  const signInPages = useCursorPages("Pages of executions waiting for a sign-in");
  const approvals = useParked("AWAITING_APPROVAL", approvalPages.cursor);
  const signIns = useParked("AWAITING_AUTH", signInPages.cursor);
  const id = useId();
  return (
    <div className="page">
      <h1>Approvals</h1>
      <p className="muted">
        {kind === "api_key"
          ? "Every user's executions that wait for someone. An API key may decide only when the tool policy allows it (api_key_may_approve)."
          : "Your executions that wait for you: approve or deny them, or sign in where a tool needs an account."}
      </p>
      <section aria-labelledby={`${id}-approvals`}>
        <h2 id={`${id}-approvals`}>Waiting for approval</h2>
        {approvals.isPending && <Loading what="the executions waiting for approval" />}
        {approvals.isError && <ErrorNotice error={approvals.error} title="The executions could not be read" />}
        {approvals.data && approvals.data.items.length === 0 && <Empty>Nothing waits for an approval.</Empty>}
        {approvals.data && approvals.data.items.length > 0 && (
          <ul className="cards" aria-label="Executions waiting for approval">
            {approvals.data.items.map((execution) => (
              <ApprovalRequest key={execution.execution_id} execution={execution} />
            ))}
          </ul>
        )}
        {approvals.data && approvalPages.pager(approvals.data.next_cursor)}
      </section>
      <section aria-labelledby={`${id}-sign-ins`}>
        <h2 id={`${id}-sign-ins`}>Waiting for a sign-in</h2>
        {signIns.isPending && <Loading what="the executions waiting for a sign-in" />}
        {signIns.isError && <ErrorNotice error={signIns.error} title="The executions could not be read" />}
        {signIns.data && signIns.data.items.length === 0 && <Empty>No execution waits for a sign-in.</Empty>}
        {signIns.data && signIns.data.items.length > 0 && (
          <ul className="cards" aria-label="Executions waiting for a sign-in">
            {signIns.data.items.map((execution) => (
              <li key={execution.execution_id} className="card">
                <strong>{execution.action_name}</strong> for <span>{execution.user_id}</span>
                <p className="muted">Asked {new Date(execution.created_at).toLocaleString()}</p>
                {execution.authorization?.redirect_url ? (
                  <a href={execution.authorization.redirect_url} target="_blank" rel="noopener noreferrer">
                    Sign in to run {execution.action_name} (opens a new window)
                  </a>
                ) : (
                  <p className="muted">The sign-in link is being prepared.</p>
                )}
              </li>
            ))}
          </ul>
        )}
        {signIns.data && signInPages.pager(signIns.data.next_cursor)}
      </section>
    </div>
  );
}

function ApprovalRequest({ execution }: { execution: ExecutionView }) {
  const { api } = useSignedIn();
  const client = useQueryClient();
  const [reason, setReason] = useState("");
  const decide = useMutation({
    mutationFn: async (decision: "approve" | "deny") => {
      const body = {
        ...(reason.trim() ? { reason: reason.trim() } : {}),
        ...(decision === "approve" && execution.approval?.arguments_hash ? { arguments_hash: execution.approval.arguments_hash } : {}),
      };
      return (await api.request<ExecutionView>("POST", `/composio/executions/${execution.execution_id}/${decision}`, body)).body;
    },
    onSuccess: () => client.invalidateQueries({ queryKey: INBOX_KEY }),
  });
  const expires = execution.approval?.expires_at;
  return (
    <li className="card">
      <strong>{execution.action_name}</strong> for <span>{execution.user_id}</span>
      <p className="muted">
        Asked {new Date(execution.created_at).toLocaleString()}
        {expires ? `; expires ${new Date(expires).toLocaleString()}` : ""}
        {execution.approval?.rules.length ? `; rule ${execution.approval.rules.join(", ")}` : ""}
      </p>
      {/* What the approval covers, exactly (secret values shown as [REDACTED]): the approve call sends its hash. */}
      {execution.approval?.arguments && <JsonView value={execution.approval.arguments} label={`Arguments of ${execution.action_name}`} />}
      <TextField label={`Reason for ${execution.action_name} (optional)`} value={reason} maxLength={1000} onChange={setReason} />
      <div className="actions-row">
        <button type="button" className="primary" disabled={decide.isPending} onClick={() => decide.mutate("approve")}>
          Approve
        </button>{" "}
        <button type="button" className="danger" disabled={decide.isPending} onClick={() => decide.mutate("deny")}>
          Deny
        </button>
      </div>
      {decide.isError && <ErrorNotice error={decide.error} title="Not decided" />}
    </li>
  );
}
