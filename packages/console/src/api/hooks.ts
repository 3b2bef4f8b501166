import type {
  ActionView,
  AuthConfigView,
  BulkResult,
  ConnectionStatus,
  ConnectionView,
  ExecutionView,
  ToolkitView,
} from "@kronos/shared/contracts";
import { isFinalExecutionStatus, isParkedExecutionStatus } from "@kronos/shared/contracts";
import { type QueryClient, useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useSignedIn } from "../session";
import { type ApiClient, query } from "./client";

// Types come from the zod contracts in packages/shared; these are the pages the API answers.
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export const keys = {
  connections: ["connections"] as const,
  authConfigs: ["auth-configs"] as const,
  toolkits: ["toolkits"] as const,
  actions: ["actions"] as const,
  execution: (id: string) => ["execution", id] as const,
};

/** A value that follows `value` once it has not changed for `delayMs` (search boxes). */
export function useDebounced<T>(value: T, delayMs = 300): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return debounced;
}

export interface ConnectionFilters {
  user_id?: string;
  status?: ConnectionStatus | "";
  label?: string;
  toolkit?: string;
}

export function useConnections(filters: ConnectionFilters) {
  const { api } = useSignedIn();
  return useQuery({
    queryKey: [...keys.connections, filters],
    queryFn: async () => (await api.request<Page<ConnectionView>>("GET", `/composio/connections${query({ ...filters, limit: 200 })}`)).body,
  });
}

/** The catalogue's toolkits matching a search (served from the gateway's cache of Composio's catalogue). */
export function useToolkits(search: string) {
  const { api } = useSignedIn();
  const debounced = useDebounced(search.trim());
  return useQuery({
    queryKey: [...keys.toolkits, debounced],
    queryFn: async () => (await api.request<Page<ToolkitView>>("GET", `/composio/toolkits${query({ search: debounced, limit: 20 })}`)).body,
    staleTime: 60_000,
    placeholderData: (previous) => previous,
  });
}

export function useActions(toolkit: string | null) {
  const { api } = useSignedIn();
  return useQuery({
    queryKey: [...keys.actions, toolkit],
    enabled: toolkit !== null,
    queryFn: async () =>
      (await api.request<Page<ActionView>>("GET", `/composio/toolkits/${encodeURIComponent(toolkit ?? "")}/actions?limit=200`)).body,
    staleTime: 60_000,
  });
}

export interface AuthConfigFilters {
  search?: string;
  toolkit_slug?: string;
  is_composio_managed?: "true" | "false" | "";
  show_disabled?: boolean;
}

export function useAuthConfigs(filters: AuthConfigFilters, enabled = true) {
  const { api } = useSignedIn();
  return useQuery({
    queryKey: [...keys.authConfigs, filters],
    enabled,
    queryFn: async () =>
      (await api.request<Page<AuthConfigView>>("GET", `/composio/auth-configs${query({ ...filters, limit: 200 })}`)).body,
  });
}

/**
 * An execution, read again every second while a worker has it, every 5 s while it waits for a person (parked),
 * not at all once final; the feed's execution events refresh it at once.
 */
export function useExecution(id: string | null) {
  const { api } = useSignedIn();
  return useQuery({
    queryKey: keys.execution(id ?? ""),
    enabled: id !== null,
    queryFn: async () => (await api.request<ExecutionView>("GET", `/composio/executions/${id}`)).body,
    refetchInterval: (current) => {
      const status = current.state.data?.status;
      if (status && isFinalExecutionStatus(status)) return false;
      return status && isParkedExecutionStatus(status) ? 5_000 : 1_000;
    },
  });
}

/** Puts a connection's new state into every cached list that shows it; false when no list had it. */
export function patchCachedConnection(client: QueryClient, connectionId: string, patch: Partial<ConnectionView>): boolean {
  let found = false;
  client.setQueriesData<Page<ConnectionView>>({ queryKey: keys.connections }, (page) => {
    if (!page) return page;
    let changed = false;
    const items = page.items.map((item) => {
      if (item.connection_id !== connectionId) return item;
      changed = true;
      return { ...item, ...patch };
    });
    if (changed) found = true;
    return changed ? { ...page, items } : page;
  });
  return found;
}

/** POST a bulk operation and wait for its per-item results (GET the bulk while it runs). */
export async function runBulk(api: ApiClient, kind: "disable" | "delete", connectionIds: string[]): Promise<BulkResult> {
  const started = await api.request<BulkResult | { bulk_id: string; status: "RUNNING" }>("POST", `/composio/connections/bulk/${kind}`, {
    connection_ids: connectionIds,
  });
  if (started.status === 200) return started.body as BulkResult;
  const bulkId = (started.body as { bulk_id: string }).bulk_id;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const view = await api.request<BulkResult & { status: string }>("GET", `/composio/bulk/${bulkId}`);
    if (view.body.status === "COMPLETED") return view.body;
  }
}
