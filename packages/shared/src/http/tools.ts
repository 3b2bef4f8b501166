import { z } from "zod";
import { toolkitSlugSchema, userIdSchema } from "../domain.js";
import { LLM_TOOL_FORMATS } from "../llm-tools.js";

export const llmToolsQuerySchema = z.object({
  /** Required with an API key; a user token means its own user. */
  user_id: userIdSchema.optional(),
  /** Comma-separated toolkit slugs; absent: the toolkits the user has an ACTIVE connection of. */
  toolkits: z
    .string()
    .max(2000)
    .transform((value, ctx) => {
      const slugs = value
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      const parsed: string[] = [];
      for (const slug of slugs) {
        const result = toolkitSlugSchema.safeParse(slug);
        if (!result.success) {
          ctx.addIssue({ code: "custom", message: `"${slug.slice(0, 64)}" is not a toolkit slug` });
          return z.NEVER;
        }
        parsed.push(result.data);
      }
      if (parsed.length === 0 || parsed.length > 20) {
        ctx.addIssue({ code: "custom", message: "must list 1 to 20 toolkit slugs, separated by commas" });
        return z.NEVER;
      }
      return [...new Set(parsed)];
    })
    .optional(),
  format: z.enum(LLM_TOOL_FORMATS).default("json_schema"),
});

export const llmToolItemSchema = z.object({
  /** The tool's name as the model sees it (see docs/agents.md for the mapping). */
  name: z.string(),
  /** The action slug to execute when the model calls `name`. */
  action: z.string(),
  toolkit: z.string(),
  /** Whether the user has an ACTIVE connection of the toolkit (otherwise running it asks the user to sign in). */
  connected: z.boolean(),
  requires_approval: z.boolean(),
  /** The definition in the requested format, to hand to the model as it is. */
  definition: z.record(z.string(), z.unknown()),
});

export const llmToolsResponseSchema = z
  .object({ user_id: z.string(), format: z.enum(LLM_TOOL_FORMATS), items: z.array(llmToolItemSchema) })
  .meta({ id: "LlmTools" });
export type LlmToolsResponse = z.infer<typeof llmToolsResponseSchema>;
