import { DEFAULT_JOB_OPTIONS, QUEUES, type QueueName, type Redis } from "@kronos/shared";
import { FlowProducer, Queue } from "bullmq";
import type { GatewayQueues } from "./context.js";
import { QueueEventsOnDemand } from "./lib/queue-events-on-demand.js";

/**
 * The queues the gateway adds jobs to (every queue of QUEUES, for the dashboard and the metrics too), sharing the
 * app's Redis connection; each queue's event reader, when a request waits, duplicates it (a blocking reader).
 */
export function createGatewayQueues(
  redis: Redis,
  prefix: string,
  onError: (error: Error) => void,
): GatewayQueues & { close(): Promise<void> } {
  const defaultJobOptions = { ...DEFAULT_JOB_OPTIONS, backoff: { ...DEFAULT_JOB_OPTIONS.backoff } };
  const queue = (name: QueueName) => new Queue(name, { connection: redis, prefix, defaultJobOptions });
  const all = Object.values(QUEUES).map(queue);
  const byName = (name: QueueName) => all.find((q) => q.name === name) as Queue;
  const events = (name: QueueName) => new QueueEventsOnDemand(byName(name), redis, onError);
  const queues: GatewayQueues = {
    connection: byName(QUEUES.connection),
    statusPoll: byName(QUEUES.statusPoll),
    connectionOps: byName(QUEUES.connectionOps),
    authConfig: byName(QUEUES.authConfig),
    toolExecution: byName(QUEUES.toolExecution),
    bulk: byName(QUEUES.bulk),
    triggerOps: byName(QUEUES.triggerOps),
    all,
    connectionEvents: events(QUEUES.connection),
    connectionOpsEvents: events(QUEUES.connectionOps),
    authConfigEvents: events(QUEUES.authConfig),
    toolExecutionEvents: events(QUEUES.toolExecution),
    bulkEvents: events(QUEUES.bulk),
    triggerOpsEvents: events(QUEUES.triggerOps),
    flows: new FlowProducer({ connection: redis, prefix }),
  };
  const allEvents = [
    queues.connectionEvents,
    queues.connectionOpsEvents,
    queues.authConfigEvents,
    queues.toolExecutionEvents,
    queues.bulkEvents,
    queues.triggerOpsEvents,
  ];
  return {
    ...queues,
    async close() {
      await Promise.allSettled(allEvents.map((e) => e.close()));
      await Promise.allSettled([...all.map((q) => q.close()), queues.flows.close()]);
    },
  };
}

/** Everything that may emit "error", for one listener (the event readers get it when they start). */
export function queueEmitters(queues: GatewayQueues): Array<{ on(event: "error", listener: (error: Error) => void): unknown }> {
  return [...queues.all, queues.flows];
}
