// Log-spaced buckets 1% wide keep memory constant however long the run, at the price of
// percentiles that are exact to within 1% (never below the true value).
const GROWTH = 1.01;
const SMALLEST_MS = 0.01;
const LARGEST_MS = 3_600_000;
const BUCKET_COUNT = Math.ceil(Math.log(LARGEST_MS / SMALLEST_MS) / Math.log(GROWTH)) + 1;

/** Latencies in milliseconds, and their nearest-rank percentiles. */
export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKET_COUNT);
  private recorded = 0;
  private smallest = Infinity;
  private largest = -Infinity;

  get count(): number {
    return this.recorded;
  }

  record(ms: number): void {
    const bucket = ms <= SMALLEST_MS ? 0 : Math.min(Math.ceil(Math.log(ms / SMALLEST_MS) / Math.log(GROWTH)), BUCKET_COUNT - 1);
    this.counts[bucket]! += 1;
    this.recorded += 1;
    this.smallest = Math.min(this.smallest, ms);
    this.largest = Math.max(this.largest, ms);
  }

  /** The smallest recorded value with at least `percent`% of the values at or below it; undefined when empty. */
  percentile(percent: number): number | undefined {
    if (this.recorded === 0) return undefined;
    const rank = Math.max(1, Math.ceil((percent / 100) * this.recorded));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKET_COUNT; bucket += 1) {
      seen += this.counts[bucket]!;
      if (seen >= rank) return Math.min(Math.max(SMALLEST_MS * GROWTH ** bucket, this.smallest), this.largest);
    }
    return this.largest;
  }

  reset(): void {
    this.counts.fill(0);
    this.recorded = 0;
    this.smallest = Infinity;
    this.largest = -Infinity;
  }
}
