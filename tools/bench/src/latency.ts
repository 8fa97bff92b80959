// Per-operation latencies, kept exactly (8 bytes an operation) so the
// percentiles are exact, not bucketed.

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export class LatencyRecorder {
  private data = new Float64Array(1 << 16);
  private n = 0;

  get count(): number {
    return this.n;
  }

  record(ms: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = ms;
  }

  reset(): void {
    this.n = 0;
  }

  /** Summary of the samples recorded at positions [from, count). */
  summary(from = 0): LatencySummary {
    const s = this.data.slice(from, this.n).sort();
    return summarize(s);
  }
}

/** Nearest-rank percentile of sorted samples: the smallest x with at least q of the samples <= x. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

export function summarize(sorted: Float64Array): LatencySummary {
  let sum = 0;
  for (const x of sorted) sum += x;
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return {
    count: sorted.length,
    meanMs: r(sorted.length ? sum / sorted.length : Number.NaN),
    p50Ms: r(percentile(sorted, 0.5)),
    p90Ms: r(percentile(sorted, 0.9)),
    p99Ms: r(percentile(sorted, 0.99)),
    p999Ms: r(percentile(sorted, 0.999)),
    maxMs: r(sorted.length ? sorted[sorted.length - 1]! : Number.NaN),
  };
}
