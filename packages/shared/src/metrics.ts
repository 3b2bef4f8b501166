import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { hooksOf } from "./http/route-hooks.js";
import { type HistogramSeries, SeriesHistogram } from "./series-histogram.js";

/** Metric names, defined once. Every service exposes them on GET /metrics (Prometheus text format). */
export const METRIC_NAMES = {
  httpDuration: "kronos_http_request_duration_seconds",
  queueJobs: "kronos_queue_jobs",
  jobDuration: "kronos_job_duration_seconds",
  jobsFinished: "kronos_jobs_finished_total",
  openSockets: "kronos_ws_open_sockets",
  eventsDelivered: "kronos_ws_events_delivered_total",
  socketsClosed: "kronos_ws_sockets_closed_total",
  webhookSignatureFailures: "kronos_webhook_signature_failures_total",
  webhooksReceived: "kronos_webhooks_received_total",
} as const;

/** A registry with the process's default metrics (memory, CPU, event loop lag), labelled with the service. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

type ResponseHook = (
  request: { method: string; is404: boolean },
  reply: { statusCode: number; elapsedTime: number },
  done: () => void,
) => void;

/** The minimal shape of a Fastify instance this needs, so that this package does not depend on Fastify. */
interface HookableApp {
  addHook(name: "onRoute", hook: (route: { url: string; onResponse?: unknown }) => void): unknown;
  addHook(name: "onResponse", hook: ResponseHook): unknown;
}

/**
 * HTTP latency histogram by method, route pattern (never the raw URL: ids would explode the label set) and status.
 * Each route declared after this call gets a hook with its pattern at hand (`onRoute`): one global hook would read
 * `request.routeOptions`, which Fastify builds anew on every read. Requests no route matched count as "unmatched".
 */
export function instrumentHttp(app: HookableApp, registry: Registry): void {
  const histogram = new SeriesHistogram(
    METRIC_NAMES.httpDuration,
    "HTTP request duration in seconds",
    ["method", "route", "status_code"],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registry,
  );
  const observeAs = (route: string): ResponseHook => {
    const seriesByMethodAndStatus = new Map<string, HistogramSeries>();
    return (request, reply, done) => {
      const key = request.method + reply.statusCode;
      let series = seriesByMethodAndStatus.get(key);
      if (!series) {
        series = histogram.series({ method: request.method, route, status_code: String(reply.statusCode) });
        seriesByMethodAndStatus.set(key, series);
      }
      series.observe(reply.elapsedTime / 1000);
      done();
    };
  };
  app.addHook("onRoute", (route) => {
    route.onResponse = [...hooksOf(route.onResponse), observeAs(route.url)];
  });
  const unmatched = observeAs("unmatched");
  app.addHook("onResponse", (request, reply, done) => (request.is404 ? unmatched(request, reply, done) : done()));
}

/** Job counts per queue and state, read from Redis when Prometheus scrapes. */
export function instrumentQueues(
  registry: Registry,
  queues: ReadonlyArray<{ name: string; getJobCounts(...states: string[]): Promise<Record<string, number>> }>,
): void {
  const states = ["waiting", "active", "delayed", "completed", "failed", "prioritized", "waiting-children"];
  new Gauge({
    name: METRIC_NAMES.queueJobs,
    help: "Jobs per queue and state",
    labelNames: ["queue", "state"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const queue of queues) {
        const counts = await queue.getJobCounts(...states);
        for (const state of states) this.set({ queue: queue.name, state }, counts[state] ?? 0);
      }
    },
  });
}

/** Job duration and outcome counters, for the worker. */
export function jobMetrics(registry: Registry) {
  return {
    duration: new SeriesHistogram(
      METRIC_NAMES.jobDuration,
      "Job processing time in seconds",
      ["queue", "name"],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registry,
    ),
    finished: new Counter({
      name: METRIC_NAMES.jobsFinished,
      help: "Jobs finished, by queue and outcome",
      labelNames: ["queue", "outcome"] as const,
      registers: [registry],
    }),
  };
}

export { Counter, Gauge, Registry };
