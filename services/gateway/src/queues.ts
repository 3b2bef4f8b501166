import { createQueues, type Redis } from "@kronos/shared";
import { FlowProducer, type Queue } from "bullmq";
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
  const opened = createQueues({ connection: redis, prefix });
  const all = Object.values(opened) as Queue[];
  const events = (queue: Queue) => new QueueEventsOnDemand(queue, redis, onError);
  const queues: GatewayQueues = {
    connection: opened.connection,
    statusPoll: opened.statusPoll,
    connectionOps: opened.connectionOps,
    authConfig: opened.authConfig,
    toolExecution: opened.toolExecution,
    bulk: opened.bulk,
    triggerOps: opened.triggerOps,
    webhookDelivery: opened.webhookDelivery,
    all,
    connectionEvents: events(opened.connection as Queue),
    connectionOpsEvents: events(opened.connectionOps as Queue),
    authConfigEvents: events(opened.authConfig as Queue),
    bulkEvents: events(opened.bulk as Queue),
    triggerOpsEvents: events(opened.triggerOps as Queue),
    statusPollEvents: events(opened.statusPoll as Queue),
    flows: new FlowProducer({ connection: redis, prefix }),
  };
  const allEvents = [
    queues.connectionEvents,
    queues.connectionOpsEvents,
    queues.authConfigEvents,
    queues.bulkEvents,
    queues.triggerOpsEvents,
    queues.statusPollEvents,
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
