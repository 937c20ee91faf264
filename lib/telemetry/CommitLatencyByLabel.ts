import { Summary, type Registry } from 'prom-client';
import type { PassedEvent } from './HopPressure.js';

/** A class or key name as the gateway sets it; anything else (another edge's, or none) is counted as "other". */
const labelValue = /^[A-Za-z0-9._-]{1,64}$/;
/** Distinct classes, and keys, reported at most: upstream's data must not grow the series without bound. */
const maxLabelValues = 64;
const refreshEveryMs = 1_000;
/**
 * Events of one class (or key) a commit adds to its summary at most, evenly spread over them. A
 * summary's observation costs a t-digest insert per age bucket (most of the sink's time when every
 * event was observed); a few dozen per commit, over 10 s of commits, keep the quantiles as exact.
 */
export const maxObservedPerCommit = 32;

export interface LatencyFigures { p50_ms: number; p99_ms: number }
export interface CommitLatencyFigures { classes: Record<string, LatencyFigures>; keys: Record<string, LatencyFigures> }

/**
 * Accept-to-commit over the last 10 s, by the priority class and by the API key each event was
 * admitted by (the fields the gateway sets): Prometheus summaries, whose recent quantiles also go
 * into the sink's pressure report, read once a second.
 */
export class CommitLatencyByLabel {
  readonly #byClass: Summary;
  readonly #byKey: Summary;
  readonly #seen = { classes: new Set<string>(), keys: new Set<string>() };
  #figures: CommitLatencyFigures = { classes: {}, keys: {} };

  constructor(registry: Registry) {
    const summary = (name: string, help: string, label: string) => new Summary({ name, help, labelNames: [label], percentiles: [0.5, 0.99], maxAgeSeconds: 10, ageBuckets: 5, registers: [registry] });
    this.#byClass = summary('mesh_sink_class_accept_to_commit_seconds', 'From the intake taking an event to its commit, over the last 10 s, by the priority class the edge admitted it in', 'class');
    this.#byKey = summary('mesh_sink_key_accept_to_commit_seconds', 'From the intake taking an event to its commit, over the last 10 s, by the API key that sent it', 'key');
    setInterval(() => void this.#refresh(), refreshEveryMs).unref();
  }

  /** The last 10 s's median and p99, per class and per key, as of the last refresh. */
  get figures(): CommitLatencyFigures { return this.#figures; }

  /** One commit's events, `acceptToCommitSeconds[i]` after the intake took `events[i]`. */
  observeCommit(events: readonly PassedEvent[], acceptToCommitSeconds: readonly number[]): void {
    this.#observeSpread(this.#byClass, 'class', events, acceptToCommitSeconds, (event) => event.priorityClass ? this.#bounded(this.#seen.classes, event.priorityClass) : undefined);
    this.#observeSpread(this.#byKey, 'key', events, acceptToCommitSeconds, (event) => event.priorityClass && event.producerKey ? this.#bounded(this.#seen.keys, event.producerKey) : undefined);
  }

  /** Every label's events observed, or, of a label with more than maxObservedPerCommit, every n-th. */
  #observeSpread(summary: Summary, label: string, events: readonly PassedEvent[], seconds: readonly number[], labelOf: (event: PassedEvent) => string | undefined): void {
    const labels = events.map(labelOf);
    const counts = new Map<string, number>();
    for (const value of labels) if (value !== undefined) counts.set(value, (counts.get(value) ?? 0) + 1);
    const seen = new Map<string, number>();
    for (let i = 0; i < events.length; i++) {
      const value = labels[i];
      if (value === undefined || !(seconds[i]! >= 0)) continue;
      const index = seen.get(value) ?? 0;
      seen.set(value, index + 1);
      if (index % Math.ceil(counts.get(value)! / maxObservedPerCommit) === 0) summary.observe({ [label]: value }, seconds[i]!);
    }
  }

  #bounded(seen: Set<string>, value: string): string {
    if (!labelValue.test(value)) return 'other';
    if (!seen.has(value) && seen.size >= maxLabelValues) return 'other';
    seen.add(value);
    return value;
  }

  async #refresh(): Promise<void> {
    const read = async (summary: Summary, label: string) => {
      const figures: Record<string, LatencyFigures> = {};
      for (const { labels, value, metricName } of (await summary.get()).values) {
        const name = labels[label];
        if (metricName !== undefined || typeof name !== 'string' || !Number.isFinite(value)) continue;
        const entry = (figures[name] ??= { p50_ms: 0, p99_ms: 0 });
        if (labels.quantile === 0.5) entry.p50_ms = Math.round(value * 10_000) / 10;
        if (labels.quantile === 0.99) entry.p99_ms = Math.round(value * 10_000) / 10;
      }
      return figures;
    };
    this.#figures = { classes: await read(this.#byClass, 'class'), keys: await read(this.#byKey, 'key') };
  }
}
