import { z } from "zod";

/**
 * GET /console/config.json: what the console cannot know from its own origin. The feed runs on another port (or
 * host), so the gateway tells the browser where it is; the same URL goes into the console's Content-Security-Policy.
 */
export const consoleConfigSchema = z.object({ feed_url: z.string() });
export type ConsoleConfig = z.infer<typeof consoleConfigSchema>;

/**
 * Where browsers open the feed: PUBLIC_FEED_URL when set, else the webhooks port on the host browsers reach the
 * gateway at (what the run command starts locally).
 */
export function publicFeedUrl(config: { PUBLIC_FEED_URL?: string | undefined; PUBLIC_GATEWAY_URL: string; WEBHOOKS_PORT: number }): string {
  if (config.PUBLIC_FEED_URL) return config.PUBLIC_FEED_URL;
  const gateway = new URL(config.PUBLIC_GATEWAY_URL);
  return `${gateway.protocol === "https:" ? "wss" : "ws"}://${gateway.hostname}:${config.WEBHOOKS_PORT}/ws`;
}
