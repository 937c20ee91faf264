import { Summary, type Registry } from 'prom-client';
import type { PassedEvent } from './HopPressure.js';

/** A class or key name as the gateway sets it; anything else (another edge's, or none) is counted as "other". */
const labelValue = /^[A-Za-z0-9._-]{1,64}$/;
/** Distinct classes, and keys, reported at most: upstream's data must not grow the series without bound. */
const maxLabelValues = 64;
const refreshEveryMs = 1_000;

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

  /** One committed event, `seconds` after the intake took it. */
  observe(event: PassedEvent, seconds: number): void {
    if (!event.priorityClass) return;
    this.#byClass.observe({ class: this.#bounded(this.#seen.classes, event.priorityClass) }, seconds);
    if (event.producerKey) this.#byKey.observe({ key: this.#bounded(this.#seen.keys, event.producerKey) }, seconds);
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
