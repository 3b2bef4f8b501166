import type { ComponentType } from "react";
import { AuthConfigsPage } from "./AuthConfigsPage";
import { ConnectionsPage } from "./ConnectionsPage";
import { ToolPoliciesPage } from "./ToolPoliciesPage";
import { ToolRunnerPage } from "./ToolRunnerPage";

/**
 * The console's pages, in navigation order: a page for another part of the API (triggers, webhook endpoints and
 * their deliveries, API keys, the audit log, approvals) is one more entry here. `operatorOnly` pages need the
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
  { path: "tool-policies", label: "Tool policies", component: ToolPoliciesPage, operatorOnly: true },
];
