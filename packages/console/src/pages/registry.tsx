import type { ComponentType } from "react";
import { ActivityPage } from "./ActivityPage";
import { ApiKeysPage } from "./ApiKeysPage";
import { ApprovalsPage } from "./ApprovalsPage";
import { AuthConfigsPage } from "./AuthConfigsPage";
import { ConnectionsPage } from "./ConnectionsPage";
import { ToolPoliciesPage } from "./ToolPoliciesPage";
import { ToolRunnerPage } from "./ToolRunnerPage";
import { TriggersPage } from "./TriggersPage";
import { WebhookEndpointsPage } from "./WebhookEndpointsPage";

/**
 * The console's pages, in navigation order: a page for another part of the API is one more entry here. `operatorOnly` pages need the
 * tenant's API key and are hidden from the end-user view.
 */
export interface PageEntry {
  path: string;
  label: string;
  component: ComponentType;
  operatorOnly?: boolean;
}

export const PAGES: PageEntry[] = [
  { path: "connections", label: "Connections", component: ConnectionsPage },
  { path: "auth-configs", label: "Auth configs", component: AuthConfigsPage, operatorOnly: true },
  { path: "tools", label: "Tool runner", component: ToolRunnerPage },
  { path: "triggers", label: "Triggers", component: TriggersPage },
  { path: "approvals", label: "Approvals", component: ApprovalsPage },
  { path: "tool-policies", label: "Tool policies", component: ToolPoliciesPage, operatorOnly: true },
  { path: "webhook-endpoints", label: "Webhook endpoints", component: WebhookEndpointsPage, operatorOnly: true },
  { path: "activity", label: "Activity", component: ActivityPage, operatorOnly: true },
  { path: "api-keys", label: "API keys", component: ApiKeysPage, operatorOnly: true },
];
