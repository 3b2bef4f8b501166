import type { Metric, Registry } from "prom-client";

/** One label set of a histogram: observing is a bucket search and three additions. */
export interface HistogramSeries {
  observe(seconds: number): void;
}

interface Series extends HistogramSeries {
  labels: Record<string, string>;
  /** Per bucket (not cumulative); the last one is +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

/** prom-client's shape: `labels` first, then the registry's default labels, then `sharedLabels` (the series'). */
interface ExportedValue {
  metricName: string;
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
}

/**
 * A Prometheus histogram whose label sets are looked up once by the caller (`series`) and kept. prom-client's
 * Histogram hashes the labels and turns the bucket bound into a property name on every observation: a measurable
 * part of an accepted request's CPU on the hot paths (bench/README.md, P1). Exposed through the same registry, in
 * the same text format (`_bucket` with `le`, `_sum`, `_count`).
 */
export class SeriesHistogram<L extends string> {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly bySeriesKey = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series of one label set, created at its first use. */
  series(labels: Record<L, string>): HistogramSeries {
    const key = this.labelNames.map((name) => labels[name]).join("\u0000");
    let series = this.bySeriesKey.get(key);
    if (!series) {
      series = newSeries(Object.fromEntries(this.labelNames.map((name) => [name, labels[name]])), this.buckets);
      this.bySeriesKey.set(key, series);
    }
    return series;
  }

  /** Zeroes every series but keeps them: callers hold on to the series they were given. */
  reset(): void {
    for (const series of this.bySeriesKey.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }

  /** What prom-client's registry reads for the JSON form (`getMetricsAsJSON`, aggregation): labels merged. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportedValue[] }> {
    const data = await this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ labels, sharedLabels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } })),
    };
  }

  /** What prom-client's registry reads when it is scraped (text format): the series' labels as shared labels. */
  async getForPromString(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportedValue[] }> {
    const values: ExportedValue[] = [];
    for (const series of this.bySeriesKey.values()) {
      let cumulative = 0;
      this.buckets.forEach((bound, index) => {
        cumulative += series.counts[index] ?? 0;
        values.push({ metricName: `${this.name}_bucket`, labels: { le: bound }, sharedLabels: series.labels, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: "+Inf" }, sharedLabels: series.labels, value: series.count });
      values.push({ metricName: `${this.name}_sum`, labels: {}, sharedLabels: series.labels, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: {}, sharedLabels: series.labels, value: series.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

function newSeries(labels: Record<string, string>, buckets: readonly number[]): Series {
  const series: Series = {
    labels,
    counts: new Array<number>(buckets.length + 1).fill(0),
    sum: 0,
    count: 0,
    observe(seconds) {
      let index = 0;
      while (index < buckets.length && seconds > (buckets[index] as number)) index += 1;
      series.counts[index] = (series.counts[index] ?? 0) + 1;
      series.sum += seconds;
      series.count += 1;
    },
  };
  return series;
}
