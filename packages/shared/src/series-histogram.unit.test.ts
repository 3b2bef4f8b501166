import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { SeriesHistogram } from "./series-histogram.js";

const BUCKETS = [0.001, 0.01, 0.1, 1];
const OBSERVATIONS: Array<[string, string, number]> = [
  ["GET", "/health", 0.0004],
  ["GET", "/health", 0.001],
  ["GET", "/health", 0.05],
  ["POST", "/api/x", 2],
  ["POST", "/api/x", 0.01],
];

describe("SeriesHistogram", () => {
  it("exposes exactly what prom-client's Histogram exposes for the same observations", async () => {
    const ours = new Registry();
    const reference = new Registry();
    for (const registry of [ours, reference]) registry.setDefaultLabels({ service: "test" });
    const histogram = new SeriesHistogram("t_seconds", "help text", ["method", "route"], BUCKETS, ours);
    const expected = new Histogram({
      name: "t_seconds",
      help: "help text",
      labelNames: ["method", "route"],
      buckets: BUCKETS,
      registers: [reference],
    });
    for (const [method, route, seconds] of OBSERVATIONS) {
      histogram.series({ method, route }).observe(seconds);
      expected.observe({ method, route }, seconds);
    }
    expect(await ours.metrics()).toBe(await reference.metrics());
    // The JSON form too (labels merged), but for prom-client's exemplar slots, which we do not keep.
    const withoutExemplars = (metrics: Awaited<ReturnType<Registry["getMetricsAsJSON"]>>) =>
      metrics.map((metric) => ({
        ...metric,
        values: metric.values.map((value) => {
          const { exemplar: _, ...rest } = value as typeof value & { exemplar?: unknown };
          return rest;
        }),
      }));
    expect(await ours.getMetricsAsJSON()).toEqual(withoutExemplars(await reference.getMetricsAsJSON()));
  });

  it("keeps one series per label set, and reset zeroes them", async () => {
    const registry = new Registry();
    const histogram = new SeriesHistogram("r_seconds", "help", ["route"], BUCKETS, registry);
    expect(histogram.series({ route: "/a" })).toBe(histogram.series({ route: "/a" }));
    histogram.series({ route: "/a" }).observe(0.5);
    registry.resetMetrics();
    expect(await registry.metrics()).toContain('r_seconds_count{route="/a"} 0');
  });
});
