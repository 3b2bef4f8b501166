import { z } from "zod";
import { toolkitSlugSchema, userIdSchema } from "../domain.js";
import { toolPatternSchema } from "./policies.js";

/** Most toolkits and tool patterns one agent session may name. */
export const AGENT_SESSION_MAX_TOOLKITS = 50;
export const AGENT_SESSION_MAX_TOOLS = 500;

export const createAgentSessionBodySchema = z
  .object({
    user_id: userIdSchema,
    /** Only these toolkits' tools; absent: the toolkits the user has connected (as they are at each call). */
    toolkits: z
      .array(toolkitSlugSchema)
      .min(1)
      .max(AGENT_SESSION_MAX_TOOLKITS)
      .transform((slugs) => [...new Set(slugs)])
      .optional(),
    /** Only these tools (patterns as in the tool policy: GITHUB_*, *_LIST_*, a toolkit slug); absent: no limit. */
    tools: z
      .array(toolPatternSchema)
      .min(1)
      .max(AGENT_SESSION_MAX_TOOLS)
      .transform((patterns) => [...new Set(patterns)])
      .optional(),
    /** How long the session lasts; absent: AGENT_SESSION_TTL_SECONDS (at most AGENT_SESSION_MAX_TTL_SECONDS). */
    ttl_seconds: z.number().int().positive().optional(),
  })
  .strict();
export type CreateAgentSessionBody = z.infer<typeof createAgentSessionBodySchema>;

export const agentSessionViewSchema = z
  .object({
    session_id: z.uuid(),
    user_id: z.string(),
    /** The first characters of the token, to recognise it; never the token. */
    prefix: z.string(),
    toolkits: z.array(z.string()).nullable(),
    tools: z.array(z.string()).nullable(),
    mcp_url: z.string(),
    created_by: z.string(),
    created_at: z.iso.datetime(),
    expires_at: z.iso.datetime(),
    revoked_at: z.iso.datetime().nullable(),
  })
  .meta({ id: "AgentSession" });
export type AgentSessionView = z.infer<typeof agentSessionViewSchema>;

/** A new session: the only answer that carries its token. */
export const createdAgentSessionSchema = agentSessionViewSchema.extend({ token: z.string() }).meta({ id: "CreatedAgentSession" });

export const listAgentSessionsQuerySchema = z.object({
  user_id: userIdSchema,
  /** Also the revoked and expired ones (newest first); by default only those that still work. */
  include_ended: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .default(false),
});

export const agentSessionListSchema = z.object({ items: z.array(agentSessionViewSchema) });

export const agentSessionIdParamsSchema = z.object({ id: z.uuid() });
