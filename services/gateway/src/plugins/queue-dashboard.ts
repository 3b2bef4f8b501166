import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import { AppError } from "@kronos/shared";
import type { Queue } from "bullmq";
import type { FastifyInstance } from "fastify";
import { ADMIN_REALM, isAdminAuthorization } from "../lib/admin-credential.js";

const QUEUE_DASHBOARD_PATH = "/admin/queues";

/**
 * Bull Board over every queue at /admin/queues, pages, API and static assets alike behind the admin token (Bearer,
 * or Basic with the token as the password so that a browser can log in). Registered in a scope of its own so that
 * the check covers exactly the dashboard's routes.
 */
export async function queueDashboardPlugin(app: FastifyInstance, options: { queues: Queue[]; adminToken: string }): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: options.queues.map((queue) => new BullMQAdapter(queue)),
    // @bull-board/fastify 9.10.1 is typed against its own copy of @bull-board/api (9.10.1); the shapes agree.
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]["serverAdapter"],
    options: { uiConfig: { boardTitle: "Kronos Connect" } },
  });
  app.addHook("onRequest", async (request, reply) => {
    if (isAdminAuthorization(request.headers.authorization, options.adminToken)) return;
    // Answered here, not thrown: Bull Board's plugin has an error handler of its own (it would answer 500).
    const error = new AppError("UNAUTHENTICATED", "The queue dashboard requires the admin token (Bearer, or Basic with it as password)");
    return reply.status(401).header("www-authenticate", ADMIN_REALM).type("application/json; charset=utf-8").send(error.toBody());
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: QUEUE_DASHBOARD_PATH });
}
