import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { signUserToken } from "@kronos/shared";
import { freePort, TcpProxy, waitFor } from "@kronos/testing";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AxeViolation, type ConsoleBrowser, captureAndScan, launchBrowser, watchProblems } from "./browser.js";
import { connectUser, createTenant, type Tenant } from "./flows.js";
import { api, type RunningSystem, startSystem } from "./support.js";

// The console (packages/console) in a real browser, served by the gateway, against the real services and the
// Composio emulator: what an operator and an end user do, each page scanned by axe-core at 375 and 1440 px.

let system: RunningSystem;
let browser: ConsoleBrowser;
let tenant: Tenant;
let page: Page;
let problems: string[];
let feedProxy: TcpProxy;
let receiver: Server;
const received: string[] = [];
const violations: AxeViolation[] = [];

async function scan(target: Page, name: string): Promise<void> {
  violations.push(...(await captureAndScan(target, name)));
}

async function signIn(target: Page, credential: string): Promise<void> {
  await target.getByLabel("API key or user token").fill(credential);
  await target.getByRole("button", { name: "Sign in" }).click();
}

async function openConsole(): Promise<Page> {
  const opened = await browser.context.newPage();
  await opened.goto(`${system.gatewayUrl}/console/`);
  await opened.getByRole("heading", { name: "Sign in to the Kronos console" }).waitFor();
  return opened;
}

const userToken = (userId: string, expiresInSeconds: number) =>
  signUserToken({ tenantId: tenant.tenantId, userId, exp: Math.floor(Date.now() / 1000) + expiresInSeconds }, system.env.SESSION_SECRET!);

const row = (target: Page, text: string) => target.locator("tbody tr", { hasText: text });

beforeAll(async () => {
  // The webhook endpoint the console adds: a local receiver (private addresses allowed, as in development).
  receiver = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      received.push(body);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  // The browser reaches the feed through a proxy a test can cut (the feed-offline state).
  const webhooksPort = await freePort();
  feedProxy = new TcpProxy({ host: "127.0.0.1", port: webhooksPort });
  const feedPort = await feedProxy.start();
  [system, browser] = await Promise.all([
    startSystem({
      OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: "true",
      WEBHOOKS_PORT: String(webhooksPort),
      PUBLIC_FEED_URL: `ws://127.0.0.1:${feedPort}/ws`,
    }),
    launchBrowser(),
  ]);
  tenant = await createTenant(system, "Console");
  page = await openConsole();
  problems = watchProblems(page);
}, 120_000);

afterAll(async () => {
  await feedProxy?.close();
  await browser?.close();
  await system?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
});

describe("the console", () => {
  it("is served at /console with its own CSP, immutable hashed assets and a revalidated index", async () => {
    const index = await fetch(`${system.gatewayUrl}/console/`);
    expect(index.headers.get("cache-control")).toBe("no-cache");
    const csp = index.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${feedProxy.port}`); // the feed's public origin (here the proxy)
    expect(csp).not.toContain("unsafe");
    const asset = /\/console\/assets\/[^"]+\.js/.exec(await index.text())?.[0];
    expect(asset).toBeDefined();
    const script = await fetch(`${system.gatewayUrl}${asset}`);
    expect(script.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const config = await api<{ feed_url: string }>(system.gatewayUrl, "GET", "/console/config.json");
    expect(config.body.feed_url).toBe(`ws://127.0.0.1:${feedProxy.port}/ws`);
  });

  it("signs an operator in with the tenant API key and keeps it out of the URL and localStorage", async () => {
    await scan(page, "sign-in");
    await signIn(page, tenant.apiKey);
    await page.getByRole("heading", { name: "Connections", level: 1 }).waitFor();
    await page.locator(".feed-live").waitFor();
    expect(page.url()).not.toContain(tenant.apiKey);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    await page.getByText("No connection yet").waitFor();
    await scan(page, "connections-empty");
  });

  it("connects a toolkit in a new window and shows it turn ACTIVE live, without a reload", async () => {
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    await page.getByLabel("Search toolkits").fill("git");
    await page.getByRole("radio", { name: /GitHub/ }).check();
    await page.getByLabel("For user").fill("alice");
    await page.getByLabel("Labels").fill("production, team-alpha");
    await page.getByRole("button", { name: "Connect", exact: true }).click();
    const link = page.getByRole("link", { name: /authorisation page/ });
    await link.waitFor();
    await row(page, "alice").getByText("INITIATED").waitFor();

    // The emulator's consent page sends the new window to our callback ("you can close this window").
    const [consent] = await Promise.all([browser.context.waitForEvent("page"), link.click()]);
    await consent.getByText(/close this window/i).waitFor();
    await consent.close();

    await row(page, "alice").getByText("ACTIVE").waitFor();
    await expect.poll(() => page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await expect.poll(() => row(page, "alice").textContent()).toContain("team-alpha");
    await scan(page, "connections");
  });

  it("creates an auth config (the secret never shown again) and deletes it", async () => {
    await page.getByRole("link", { name: "Auth configs" }).click();
    await page.getByRole("heading", { name: "Auth configs", level: 1 }).waitFor();
    const create = page.getByRole("region", { name: "Create an OAuth2 auth config" });
    await create.getByLabel("Name").fill("Acme GitHub app");
    await create.getByLabel("Toolkit").fill("github");
    await create.getByLabel("Client id").fill("client-123");
    await create.getByLabel("Client secret").fill("s3cret-value-never-shown");
    await create.getByLabel("Scopes").fill("repo, read:user");
    await create.getByRole("button", { name: "Create auth config" }).click();
    await create.getByText(/Created Acme GitHub app .* not shown again/).waitFor();
    await row(page, "Acme GitHub app").waitFor();
    expect(await create.getByLabel("Client secret").inputValue()).toBe("");
    expect(await page.content()).not.toContain("s3cret-value-never-shown");
    await scan(page, "auth-configs");

    await row(page, "Acme GitHub app").getByRole("button", { name: "Delete" }).click();
    const dialog = page.getByRole("dialog", { name: /Delete Acme GitHub app/ });
    await scan(page, "auth-configs-delete");
    await dialog.getByRole("button", { name: "Delete it" }).click();
    await row(page, "Acme GitHub app").waitFor({ state: "detached" });
  });

  it("runs a tool from the form generated from its input schema (enum, array, nested object) and follows it live", async () => {
    await connectUser(system, tenant.apiKey, { user_id: "alice", app_name: "linear" });
    await page.getByRole("link", { name: "Tool runner" }).click();
    await page.getByRole("radio", { name: /Linear/ }).check();
    await page.getByLabel("Action of Linear").selectOption("LINEAR_CREATE_LINEAR_ISSUE");
    await page.getByLabel("Run as user").fill("alice");
    await page.getByLabel(/^team_id/).fill("team_1");
    await page.getByLabel(/^title/).fill("From the console");
    await page.getByLabel(/^priority/).selectOption("high");
    await page.getByRole("button", { name: "Add" }).click();
    await page.getByLabel(/^label_names-1/).fill("bug");
    await page.getByLabel(/^points/).fill("3");
    await scan(page, "tool-runner-form");
    await page.getByRole("button", { name: "Run" }).click();
    await page.getByRole("status").filter({ hasText: "SUCCEEDED" }).waitFor();
    const result = page.getByRole("region", { name: "Result" });
    await expect.poll(() => result.textContent()).toContain("From the console");
    expect(await result.textContent()).toContain('"high"');
    await scan(page, "tool-runner");
  });

  it("edits the tenant's tool policy in a form made from its contract; a denied tool is refused with the API's message", async () => {
    await page.getByRole("link", { name: "Tool policies" }).click();
    await page.getByRole("heading", { name: "Tool policies", level: 1 }).waitFor();
    await page.getByText("Nothing is stored: the defaults apply.").waitFor();
    const deny = page.getByRole("group", { name: "Denied tools" });
    await deny.getByRole("button", { name: "Add" }).click();
    await deny.getByRole("textbox").fill("LINEAR_DELETE_*");
    await page.getByRole("button", { name: "Save policy" }).click();
    await page.getByText("Saved. New requests follow it").waitFor();
    await expect.poll(() => page.getByRole("region", { name: "Effective policy" }).textContent()).toContain("LINEAR_DELETE_*");
    await scan(page, "tool-policies");

    await page.getByRole("link", { name: "Tool runner" }).click();
    await page.getByRole("radio", { name: /Linear/ }).check();
    await page.getByLabel("Action of Linear").selectOption("LINEAR_DELETE_LINEAR_ISSUE");
    await page.getByLabel("Run as user").fill("alice");
    await page.getByLabel(/^issue_id/).fill("ISS-1");
    await page.getByRole("button", { name: "Run" }).click();
    await page.getByRole("alert").filter({ hasText: 'Tool "LINEAR_DELETE_LINEAR_ISSUE" is denied by the tool policy' }).waitFor();
    await scan(page, "tool-runner-refused");
  });

  it("parks a tool the policy wants approved, and runs it once approved from the tool runner", async () => {
    const policy = await api(system.gatewayUrl, "PUT", "/api/v1/policies/tools", {
      token: tenant.apiKey,
      body: { require_approval: { tools: ["LINEAR_CREATE_*"] }, api_key_may_approve: true },
    });
    expect(policy.status).toBe(200);
    await page.getByRole("link", { name: "Tool runner" }).click();
    await page.getByRole("radio", { name: /Linear/ }).check();
    await page.getByLabel("Action of Linear").selectOption("LINEAR_CREATE_LINEAR_ISSUE");
    await page.getByLabel("Run as user").fill("alice");
    await page.getByLabel(/^team_id/).fill("team_1");
    await page.getByLabel(/^title/).fill("Needs a yes");
    await page.getByLabel(/^points/).fill("1");
    await page.getByRole("button", { name: "Run" }).click();
    await page.getByRole("status").filter({ hasText: "AWAITING_APPROVAL" }).waitFor();
    await scan(page, "tool-runner-approval");
    await page.getByRole("button", { name: "Approve" }).click();
    await page.getByRole("status").filter({ hasText: "SUCCEEDED" }).waitFor();
    expect(await page.getByRole("region", { name: "Result" }).textContent()).toContain("Needs a yes");
    expect((await api(system.gatewayUrl, "DELETE", "/api/v1/policies/tools", { token: tenant.apiKey })).status).toBe(200);
  });

  it("creates a trigger from the form generated from its type's config schema, disables and deletes it", async () => {
    await page.getByRole("link", { name: "Triggers" }).click();
    await page.getByRole("heading", { name: "Triggers", level: 1 }).waitFor();
    await page.getByText("No trigger matches.").waitFor();
    await page.getByLabel("Trigger toolkit").fill("github");
    await page.getByLabel("Trigger type").selectOption("GITHUB_COMMIT_EVENT");
    await page.getByLabel(/^Owner/).fill("kronos");
    await page.getByLabel(/^Repo/).fill("connect");
    await page.getByLabel("For user").fill("alice");
    await page.getByLabel("Trigger labels").fill("ci");
    await scan(page, "triggers-form");
    await page.getByRole("button", { name: "Create trigger" }).click();
    await row(page, "GITHUB_COMMIT_EVENT").getByText("ACTIVE").waitFor(); // from the feed's trigger.status
    await scan(page, "triggers");
    // Edit its config (the form filled with the current one) and its labels.
    await row(page, "GITHUB_COMMIT_EVENT").getByRole("button", { name: "Edit GITHUB_COMMIT_EVENT of alice" }).click();
    const editor = page.getByRole("region", { name: "Edit GITHUB_COMMIT_EVENT of alice" });
    expect(await editor.getByLabel(/^Repo/).inputValue()).toBe("connect");
    await editor.getByLabel(/^Repo/).fill("console");
    await editor.getByLabel("Labels of the trigger").fill("ci, nightly");
    await scan(page, "triggers-edit");
    await editor.getByRole("button", { name: "Save trigger" }).click();
    await page.getByRole("status").filter({ hasText: "GITHUB_COMMIT_EVENT of alice saved." }).waitFor();
    await row(page, "GITHUB_COMMIT_EVENT").getByText("ci, nightly").waitFor();
    const listed = await api(system.gatewayUrl, "GET", "/api/v1/composio/triggers?user_id=alice", { token: tenant.apiKey });
    expect((listed.body as { items: Array<{ config: unknown; labels: string[] }> }).items[0]).toMatchObject({
      config: { owner: "kronos", repo: "console" },
      labels: ["ci", "nightly"],
    });
    await row(page, "GITHUB_COMMIT_EVENT").getByRole("button", { name: "Disable" }).click();
    await row(page, "GITHUB_COMMIT_EVENT").getByText("DISABLED").waitFor();
    await row(page, "GITHUB_COMMIT_EVENT").getByRole("button", { name: "Delete" }).click();
    await page
      .getByRole("dialog", { name: /Delete GITHUB_COMMIT_EVENT of alice/ })
      .getByRole("button", { name: "Delete it" })
      .click();
    await page.getByText("No trigger matches.").waitFor();
  });

  it("approves from the approvals inbox an execution that appears there live", async () => {
    const policy = await api(system.gatewayUrl, "PUT", "/api/v1/policies/tools", {
      token: tenant.apiKey,
      body: { require_approval: { tools: ["LINEAR_CREATE_*"] }, api_key_may_approve: true },
    });
    expect(policy.status).toBe(200);
    await page.getByRole("link", { name: "Approvals" }).click();
    await page.getByRole("heading", { name: "Approvals", level: 1 }).waitFor();
    await page.getByText("Nothing waits for an approval.").waitFor();
    await page.getByText("No execution waits for a sign-in.").waitFor();
    await scan(page, "approvals-empty");

    const parked = await api<{ execution_id: string; status: string }>(system.gatewayUrl, "POST", "/api/v1/composio/tools/execute", {
      token: tenant.apiKey,
      body: { user_id: "alice", action_name: "LINEAR_CREATE_LINEAR_ISSUE", params: { team_id: "team_1", title: "From the inbox" } },
    });
    expect(parked.body.status).toBe("AWAITING_APPROVAL");
    const inbox = page.getByRole("list", { name: "Executions waiting for approval" });
    const request = inbox.getByRole("listitem").filter({ hasText: "LINEAR_CREATE_LINEAR_ISSUE" });
    await request.waitFor(); // from the feed, without a reload
    // The approver sees what the approval covers.
    await request.getByRole("region", { name: "Arguments of LINEAR_CREATE_LINEAR_ISSUE" }).getByText("From the inbox").waitFor();
    await scan(page, "approvals");
    await request.getByLabel(/^Reason/).fill("Looks right");
    await request.getByRole("button", { name: "Approve" }).click();
    await page.getByText("Nothing waits for an approval.").waitFor();
    await expect
      .poll(
        async () =>
          (
            await api<{ status: string }>(system.gatewayUrl, "GET", `/api/v1/composio/executions/${parked.body.execution_id}`, {
              token: tenant.apiKey,
            })
          ).body.status,
      )
      .toBe("SUCCEEDED");
    expect((await api(system.gatewayUrl, "DELETE", "/api/v1/policies/tools", { token: tenant.apiKey })).status).toBe(200);
  });

  it("pages through the approvals inbox when more executions wait than one page holds", async () => {
    const policy = await api(system.gatewayUrl, "PUT", "/api/v1/policies/tools", {
      token: tenant.apiKey,
      body: { require_approval: { tools: ["LINEAR_CREATE_*"] }, api_key_may_approve: true },
    });
    expect(policy.status).toBe(200);
    const ids: string[] = [];
    for (let n = 0; n < 21; n += 1) {
      const parked = await api<{ execution_id: string; status: string }>(system.gatewayUrl, "POST", "/api/v1/composio/tools/execute", {
        token: tenant.apiKey,
        body: { user_id: "alice", action_name: "LINEAR_CREATE_LINEAR_ISSUE", params: { team_id: "team_1", title: `Paged ${n}` } },
      });
      expect(parked.body.status).toBe("AWAITING_APPROVAL");
      ids.push(parked.body.execution_id);
    }
    await page.getByRole("link", { name: "Approvals" }).click();
    await page.getByRole("heading", { name: "Approvals", level: 1 }).waitFor();
    const inbox = page.getByRole("list", { name: "Executions waiting for approval" });
    const pages = page.getByRole("group", { name: "Pages of executions waiting for approval" });
    await expect.poll(() => inbox.getByRole("listitem").count()).toBe(20);
    await inbox.getByRole("listitem").filter({ hasText: "Paged 20" }).waitFor(); // newest first
    await pages.getByRole("button", { name: "Older" }).click();
    await inbox.getByRole("listitem").filter({ hasText: "Paged 0" }).waitFor();
    await expect.poll(() => inbox.getByRole("listitem").count()).toBe(1);
    expect(await pages.getByRole("button", { name: "Older" }).isDisabled()).toBe(true);
    await pages.getByRole("button", { name: "Newer" }).click();
    await expect.poll(() => inbox.getByRole("listitem").count()).toBe(20);
    for (const id of ids)
      expect((await api(system.gatewayUrl, "POST", `/api/v1/composio/executions/${id}/cancel`, { token: tenant.apiKey })).status).toBe(200);
    await page.getByText("Nothing waits for an approval.").waitFor();
    expect((await api(system.gatewayUrl, "DELETE", "/api/v1/policies/tools", { token: tenant.apiKey })).status).toBe(200);
  });

  it("says when the live feed drops, reconnects by itself, and shows what happened meanwhile", async () => {
    const policy = await api(system.gatewayUrl, "PUT", "/api/v1/policies/tools", {
      token: tenant.apiKey,
      body: { require_approval: { tools: ["LINEAR_CREATE_*"] }, api_key_may_approve: true },
    });
    expect(policy.status).toBe(200);
    await page.getByRole("link", { name: "Approvals" }).click();
    await page.getByText("Nothing waits for an approval.").waitFor();
    const feed = page.getByRole("status").filter({ has: page.locator(".dot") });
    await feed.getByText("Live", { exact: true }).waitFor();

    await feedProxy.refuse(); // the open socket is reset and reconnecting is refused
    await feed.getByText("Offline: reconnecting…").waitFor();
    await scan(page, "feed-offline");
    const parked = await api<{ execution_id: string; status: string }>(system.gatewayUrl, "POST", "/api/v1/composio/tools/execute", {
      token: tenant.apiKey,
      body: { user_id: "alice", action_name: "LINEAR_CREATE_LINEAR_ISSUE", params: { team_id: "team_1", title: "While offline" } },
    });
    expect(parked.body.status).toBe("AWAITING_APPROVAL");
    await feedProxy.restore();
    await feed.getByText("Live", { exact: true }).waitFor(); // reconnected by itself, with `since`
    const inbox = page.getByRole("list", { name: "Executions waiting for approval" });
    await inbox.getByRole("listitem").filter({ hasText: "While offline" }).waitFor(); // no reload
    const cancel = `/api/v1/composio/executions/${parked.body.execution_id}/cancel`;
    expect((await api(system.gatewayUrl, "POST", cancel, { token: tenant.apiKey })).status).toBe(200);
    await page.getByText("Nothing waits for an approval.").waitFor();
    expect((await api(system.gatewayUrl, "DELETE", "/api/v1/policies/tools", { token: tenant.apiKey })).status).toBe(200);
  });

  it("adds a webhook endpoint (its secret shown once), rotates it, reads its deliveries and deletes it", async () => {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    await page.getByRole("link", { name: "Webhook endpoints" }).click();
    await page.getByRole("heading", { name: "Webhook endpoints", level: 1 }).waitFor();
    await page.getByText("No webhook endpoint yet.").waitFor();
    const form = page.getByRole("region", { name: "Add an endpoint" });
    await form.getByLabel("URL").fill(url);
    await form.getByLabel("Events").fill("connection.status");
    await form.getByLabel("Description").fill("Our CRM");
    await form.getByRole("button", { name: "Add endpoint" }).click();
    const shown = page.getByRole("region", { name: `Signing secret of ${url}` });
    const secret = (await shown.locator("code").textContent()) ?? "";
    expect(secret).toMatch(/^whsec_/);
    await row(page, "Our CRM").waitFor();
    await scan(page, "webhook-endpoints");
    await shown.getByRole("button", { name: "I have stored it" }).click();
    expect(await page.content()).not.toContain(secret);

    await row(page, "Our CRM").getByRole("button", { name: "Rotate secret" }).click();
    const rotated =
      (await page
        .getByRole("region", { name: `Signing secret of ${url}` })
        .locator("code")
        .textContent()) ?? "";
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);

    await row(page, "Our CRM").getByRole("button", { name: "Disable" }).click();
    await row(page, "Our CRM").getByText("INACTIVE").waitFor();
    await row(page, "Our CRM").getByRole("button", { name: "Enable" }).click();
    await row(page, "Our CRM").getByText("ACTIVE").waitFor();
    await row(page, "Our CRM").getByRole("button", { name: "Deliveries" }).click();
    await page
      .getByRole("region", { name: `Deliveries to ${url}` })
      .getByText("No delivery yet.")
      .waitFor();
    await scan(page, "webhook-deliveries");

    await row(page, "Our CRM").getByRole("button", { name: "Delete" }).click();
    await page
      .getByRole("dialog", { name: `Delete ${url}?` })
      .getByRole("button", { name: "Delete it" })
      .click();
    await page.getByText("No webhook endpoint yet.").waitFor();
  });

  it("shows the audit log with filters and exports it as NDJSON through an authorised fetch", async () => {
    await page.getByRole("link", { name: "Activity" }).click();
    await page.getByRole("heading", { name: "Activity", level: 1 }).waitFor();
    await page.locator("tbody tr").first().waitFor();
    await scan(page, "activity");
    // An action this tenant never had: the filter offers the schema of actions, and none matches.
    await page.getByLabel("Action", { exact: true }).selectOption("tenant.rate_limits_updated");
    await page.getByText("No record matches.").waitFor();
    await page.getByLabel("Action", { exact: true }).selectOption("");
    await page.locator("tbody tr").first().waitFor();
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export as NDJSON" }).click()]);
    expect(download.suggestedFilename()).toMatch(/\.ndjson$/);
    expect(download.url()).not.toContain(tenant.apiKey);
  });

  it("creates a scoped API key (shown once) and revokes it with a confirmation", async () => {
    await page.getByRole("link", { name: "API keys" }).click();
    await page.getByRole("heading", { name: "API keys", level: 1 }).waitFor();
    await page.getByLabel("Key name").fill("ci-reader");
    await page.getByRole("checkbox", { name: "connections" }).check();
    await page.getByRole("button", { name: "Create API key" }).click();
    const shown = page.getByRole("region", { name: "API key ci-reader" });
    const key = (await shown.locator("code").textContent()) ?? "";
    expect(key).toMatch(/^kc_/);
    await row(page, "ci-reader").waitFor();
    await scan(page, "api-keys");
    await shown.getByRole("button", { name: "I have stored it" }).click();
    await row(page, "ci-reader").getByRole("button", { name: "Revoke" }).click();
    await page.getByRole("dialog", { name: "Revoke ci-reader?" }).getByRole("button", { name: "Revoke it" }).click();
    await row(page, "ci-reader").getByText("REVOKED").waitFor();
    expect((await api(system.gatewayUrl, "GET", "/api/v1/composio/connections", { token: key })).status).toBe(401);
  });

  it("bulk-disables two connections and shows each item's result", async () => {
    await connectUser(system, tenant.apiKey, { user_id: "bob", app_name: "github" });
    await connectUser(system, tenant.apiKey, { user_id: "bob", app_name: "slack" });
    await page.getByRole("link", { name: "Connections" }).click();
    await page.getByLabel("User", { exact: true }).fill("bob");
    await expect.poll(() => page.locator("tbody tr").count()).toBe(2);
    await page.getByRole("checkbox", { name: "Select github of bob" }).check();
    await page.getByRole("checkbox", { name: "Select slack of bob" }).check();
    await page.getByRole("button", { name: "Disable selected" }).click();
    await page.getByRole("dialog", { name: "Disable 2 connections?" }).getByRole("button", { name: "Disable them" }).click();
    await page.getByText("Bulk disable: 2 succeeded, 0 failed.").waitFor();
    await expect.poll(() => page.getByRole("list", { name: "Per-item results" }).getByRole("listitem").count()).toBe(2);
    await row(page, "github").getByText("INACTIVE").waitFor();
    await row(page, "slack").getByText("INACTIVE").waitFor();
    await scan(page, "connections-bulk");
  });

  it("refuses an expired user token at sign-in, and keeps a half-filled form when a token expires in use", async () => {
    const user = await openConsole();
    const userProblems = watchProblems(user);
    await signIn(user, userToken("alice", -60));
    await user.getByText(/This user token expired at .* Ask for a new one/).waitFor();
    await scan(user, "sign-in-expired");

    // A token about to expire: sign in, start filling the tool form, let it expire.
    const shortLived = userToken("alice", 12);
    const expiresAt = (Math.floor(Date.now() / 1000) + 12) * 1000;
    await signIn(user, shortLived);
    await user.getByText("User alice").waitFor();
    await user.getByRole("link", { name: "Tool runner" }).click();
    await user.getByRole("radio", { name: /Linear/ }).check();
    await user.getByLabel("Action of Linear").selectOption("LINEAR_CREATE_LINEAR_ISSUE");
    await user.getByLabel(/^team_id/).fill("team_half");
    await user.getByLabel(/^title/).fill("Half-filled");
    await user.getByLabel(/^points/).fill("5");
    await waitFor(() => Date.now() > expiresAt, { timeoutMs: 30_000, what: "the token to expire" });
    // The feed closes the socket at the token's expiry (4001), and the console asks for a new credential over the page.
    const again = user.getByRole("dialog", { name: "Sign in again" });
    await again
      .getByText(/has expired/)
      .first()
      .waitFor();
    await scan(user, "session-expired");
    await signIn(user, userToken("alice", 600));
    await again.waitFor({ state: "hidden" });
    expect(await user.getByLabel(/^team_id/).inputValue()).toBe("team_half");
    expect(await user.getByLabel(/^title/).inputValue()).toBe("Half-filled");
    await user.getByRole("button", { name: "Run" }).click();
    await user.getByRole("status").filter({ hasText: "SUCCEEDED" }).waitFor();
    expect(userProblems).toEqual([]);
    await user.close();
  }, 90_000);

  it("met no script error, no CSP refusal and no serious or critical accessibility violation on any page", () => {
    expect(problems).toEqual([]);
    expect(violations).toEqual([]);
  });
});
