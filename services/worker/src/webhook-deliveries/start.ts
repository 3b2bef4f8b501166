import type { Sql } from "@kronos/db";
import { type Config, deliverWebhookJobSchema, type EventBus, JOBS, type Logger, QUEUES, type Redis } from "@kronos/shared";
import { DelayedError, type Job, Queue, UnrecoverableError, Worker, type WorkerOptions } from "bullmq";
import { attemptDelivery, type AttemptDeps } from "./attempt-delivery.js";
import { sweepDueDeliveries } from "./sweeper.js";

export interface WebhookDeliveryDeps {
  config: Config;
  sql: Sql;
  bus: EventBus;
  logger: Logger;
  /** A new Redis connection for BullMQ (the worker blocks on its own). */
  connect: () => Redis;
  post?: AttemptDeps["post"];
  /** Tests shorten the lock and the stalled-job check, to see a killed worker's job taken over quickly. */
  workerOptions?: Pick<WorkerOptions, "lockDuration" | "stalledInterval">;
}

export interface RunningWebhookDeliveries {
  queue: Queue;
  worker: Worker;
  /** One sweep now (tests; the timer runs it every WEBHOOK_SWEEP_INTERVAL_MS). */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The outbound webhook deliveries of this process: a worker that makes attempts, at most
 * WEBHOOK_DELIVERY_CONCURRENCY at once and WEBHOOK_ENDPOINT_CONCURRENCY per endpoint (a slow endpoint's extra jobs
 * step aside, delayed for a moment, so it never takes every slot from the others), and the sweeper.
 */
export function startWebhookDeliveries(deps: WebhookDeliveryDeps): RunningWebhookDeliveries {
  const { config, logger } = deps;
  const prefix = config.REDIS_KEY_PREFIX;
  const queueConnection = deps.connect();
  const workerConnection = deps.connect();
  const queue = new Queue(QUEUES.webhookDelivery, { connection: queueConnection, prefix });
  const inFlight = new Map<string, number>();
  const attemptDeps: AttemptDeps = { config: config, sql: deps.sql, bus: deps.bus, ...(deps.post ? { post: deps.post } : {}) };

  const run = async (job: Job, token: string | undefined) => {
    if (job.name !== JOBS.deliverWebhook) throw new UnrecoverableError(`Unknown job "${job.name}"`);
    const { deliveryId, endpointId } = deliverWebhookJobSchema.parse(job.data);
    const active = inFlight.get(endpointId) ?? 0;
    if (active >= config.WEBHOOK_ENDPOINT_CONCURRENCY) {
      await job.moveToDelayed(Date.now() + 100 + Math.floor(Math.random() * 200), token);
      throw new DelayedError();
    }
    inFlight.set(endpointId, active + 1);
    let result: Awaited<ReturnType<typeof attemptDelivery>>;
    try {
      result = await attemptDelivery(attemptDeps, deliveryId);
    } finally {
      const left = (inFlight.get(endpointId) ?? 1) - 1;
      if (left > 0) inFlight.set(endpointId, left);
      else inFlight.delete(endpointId);
    }
    if (result.kind === "later") {
      await job.moveToDelayed(result.at, token);
      throw new DelayedError();
    }
  };

  const worker = new Worker(QUEUES.webhookDelivery, run, {
    connection: workerConnection,
    prefix,
    concurrency: config.WEBHOOK_DELIVERY_CONCURRENCY,
    ...deps.workerOptions,
  });
  worker.on("error", (error) => logger.error({ err: error }, "webhook delivery worker error"));
  worker.on("failed", (job, error) => {
    if (!(error instanceof DelayedError)) logger.warn({ err: error, jobId: job?.id }, "webhook delivery attempt failed (the row is retried)");
  });

  const sweep = () => sweepDueDeliveries(deps.sql, queue, config.WEBHOOK_SWEEP_INTERVAL_MS);
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    sweep()
      .then((count) => {
        if (count > 0) logger.info({ count }, "webhook deliveries re-enqueued by the sweeper");
      })
      .catch((error: unknown) => logger.error({ err: error }, "webhook delivery sweep failed"))
      .finally(() => {
        sweeping = false;
      });
  }, config.WEBHOOK_SWEEP_INTERVAL_MS);
  timer.unref();

  return {
    queue,
    worker,
    sweep,
    async close() {
      clearInterval(timer);
      await worker.close();
      await queue.close();
      await Promise.allSettled([workerConnection.quit(), queueConnection.quit()]);
    },
  };
}
