import type { Metric, Registry } from 'prom-client';

type Labels = Record<string, string>;

/** The counts of one series of calls (one node, or one alias and the node it chose). */
interface CallCounts {
  labels: Labels;
  requests: number;
  /** By gRPC code name (`OK`, `ABORTED` …). */
  grpc: Map<string, number>;
  /** By HTTP status (`200`, `404` …). */
  http: Map<string, number>;
  /** Observations per bucket (not cumulative; the last one is +Inf). */
  buckets: number[];
  sum: number;
}

/** One value of a metric, as prom-client's registry formats it. */
interface Value {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/**
 * The four families of the seed's call metrics for one kind of target
 * (`<prefix>_requests_total`, `<prefix>_grpc_codes_total`,
 * `<prefix>_http_codes_total`, `<prefix>_request_duration_seconds`), kept in
 * plain numbers per series and handed to prom-client's registry, which
 * formats them, at each scrape. The data plane counts every call here, so a
 * call costs one Map lookup and a few additions rather than eight rounds of
 * prom-client's label hashing.
 */
export class CallSeries {
  private readonly series = new Map<string, CallCounts>();

  constructor(
    private readonly prefix: string,
    private readonly what: string,
    private readonly bucketBounds: readonly number[],
  ) {}

  /**
   * Counts one call of the series `key` (whose labels `labels()` makes the
   * first time): its gRPC code or HTTP status, and its duration.
   */
  count(key: string, labels: () => Labels, code: { grpc?: string; http?: string }, seconds: number): void {
    let s = this.series.get(key);
    if (!s) {
      s = { labels: labels(), requests: 0, grpc: new Map(), http: new Map(), buckets: new Array<number>(this.bucketBounds.length + 1).fill(0), sum: 0 };
      this.series.set(key, s);
    }
    s.requests++;
    if (code.grpc !== undefined) s.grpc.set(code.grpc, (s.grpc.get(code.grpc) ?? 0) + 1);
    if (code.http !== undefined) s.http.set(code.http, (s.http.get(code.http) ?? 0) + 1);
    let i = 0;
    while (i < this.bucketBounds.length && seconds > this.bucketBounds[i]!) i++;
    s.buckets[i]!++;
    s.sum += seconds;
  }

  /** Drops the series whose labels `gone` says name something deleted. */
  drop(gone: (labels: Labels) => boolean): void {
    for (const [key, s] of this.series) if (gone(s.labels)) this.series.delete(key);
  }

  /** Every label set there are series of. */
  labelSets(): Labels[] {
    return [...this.series.values()].map((s) => s.labels);
  }

  /** Registers the four families in the registry. */
  register(registry: Registry): void {
    const p = this.prefix;
    const family = (name: string, help: string, type: 'counter' | 'histogram', values: () => Value[]) =>
      registry.registerMetric({
        name,
        help,
        type,
        aggregator: 'sum',
        get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
        reset: () => this.series.clear(),
      } as unknown as Metric);
    const all = () => [...this.series.values()];
    family(`${p}_requests_total`, `Calls ${this.what}.`, 'counter', () => all().map((s) => ({ value: s.requests, labels: s.labels })));
    family(`${p}_grpc_codes_total`, `Calls ${this.what}, made over gRPC, by the gRPC status the caller got.`, 'counter', () =>
      all().flatMap((s) => [...s.grpc].map(([code, value]) => ({ value, labels: { ...s.labels, code } }))),
    );
    family(`${p}_http_codes_total`, `Calls ${this.what}, made over HTTP, by the HTTP status the caller got.`, 'counter', () =>
      all().flatMap((s) => [...s.http].map(([code, value]) => ({ value, labels: { ...s.labels, code } }))),
    );
    family(`${p}_request_duration_seconds`, `How long the calls counted in ${p}_requests_total took, as Berth saw them.`, 'histogram', () =>
      all().flatMap((s) => {
        const values: Value[] = [];
        let cumulative = 0;
        for (let i = 0; i <= this.bucketBounds.length; i++) {
          cumulative += s.buckets[i]!;
          values.push({ metricName: `${p}_request_duration_seconds_bucket`, value: cumulative, labels: { ...s.labels, le: i < this.bucketBounds.length ? this.bucketBounds[i]! : '+Inf' } });
        }
        values.push({ metricName: `${p}_request_duration_seconds_sum`, value: s.sum, labels: s.labels });
        values.push({ metricName: `${p}_request_duration_seconds_count`, value: s.requests, labels: s.labels });
        return values;
      }),
    );
  }
}
