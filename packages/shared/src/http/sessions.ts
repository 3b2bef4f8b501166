import { z } from "zod";
import { userIdSchema } from "../domain.js";

export const createSessionBodySchema = z.object({ user_id: userIdSchema }).strict();
export const createSessionResponseSchema = z.object({ token: z.string(), expires_at: z.iso.datetime() });
