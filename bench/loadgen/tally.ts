import { LatencyHistogram } from './latency.js';

/**
 * One second of the run, [t, t+1) seconds after the start. `offered` counts the events the
 * schedule offered in it (sent or dropped by the client); the outcomes count the answers that
 * arrived in it; the latencies are those of its accepted requests.
 */
export interface SecondStats {
  t: number;
  offered: number;
  sent: number;
  accepted: number;
  rejected: number;
  failed: number;
  dropped_by_client: number;
  p50_ms: number | null;
  p99_ms: number | null;
}

export interface FailureCount {
  events: number;
  /** What the first failure of this kind said, to tell why without a debugger. */
  example: string;
}

export interface Totals {
  sent: number;
  accepted: number;
  rejected: number;
  failed: number;
  dropped_by_client: number;
  retried: number;
  p50_ms: number | null;
  p99_ms: number | null;
  failures: Record<string, FailureCount>;
  per_second: SecondStats[];
}

const EXAMPLE_CHARS = 300;

/** Counts of the run per second and in total, in events; a second is reported once it is over. */
export class LoadTally {
  private readonly seconds: SecondStats[] = [];
  private current = emptySecond(0);
  private readonly secondLatencies = new LatencyHistogram();
  private readonly runLatencies = new LatencyHistogram();
  private readonly failures: Record<string, FailureCount> = {};
  private retried = 0;

  constructor(private readonly startMs: number, private readonly onSecond: (second: SecondStats) => void = () => {}) {}

  offered(events: number, nowMs: number): void {
    this.at(nowMs).offered += events;
  }

  sent(events: number, nowMs: number): void {
    this.at(nowMs).sent += events;
  }

  droppedByClient(events: number, nowMs: number): void {
    this.at(nowMs).dropped_by_client += events;
  }

  retriedAfter429(events: number): void {
    this.retried += events;
  }

  accepted(events: number, latencyMs: number, nowMs: number): void {
    this.at(nowMs).accepted += events;
    this.secondLatencies.record(latencyMs);
    this.runLatencies.record(latencyMs);
  }

  rejected(events: number, nowMs: number): void {
    this.at(nowMs).rejected += events;
  }

  failed(events: number, reason: string, detail: string, nowMs: number): void {
    this.at(nowMs).failed += events;
    const failure = (this.failures[reason] ??= { events: 0, example: detail.slice(0, EXAMPLE_CHARS) });
    failure.events += events;
  }

  /** Reports every second that is over by `nowMs`. */
  closeSecondsUntil(nowMs: number): void {
    this.at(nowMs);
  }

  msUntilNextSecond(nowMs: number): number {
    return this.startMs + (this.current.t + 1) * 1000 - nowMs;
  }

  /** Closes the last, partial second (kept only if anything happened in it) and adds everything up. */
  finish(nowMs: number): Totals {
    this.at(nowMs);
    const last = this.current;
    if (last.offered + last.accepted + last.rejected + last.failed > 0) this.close();
    const sum = (field: 'sent' | 'accepted' | 'rejected' | 'failed' | 'dropped_by_client') => this.seconds.reduce((total, second) => total + second[field], 0);
    return {
      sent: sum('sent'),
      accepted: sum('accepted'),
      rejected: sum('rejected'),
      failed: sum('failed'),
      dropped_by_client: sum('dropped_by_client'),
      retried: this.retried,
      p50_ms: rounded(this.runLatencies.percentile(50)),
      p99_ms: rounded(this.runLatencies.percentile(99)),
      failures: this.failures,
      per_second: this.seconds,
    };
  }

  private at(nowMs: number): SecondStats {
    const second = Math.floor((nowMs - this.startMs) / 1000);
    while (this.current.t < second) this.close();
    return this.current;
  }

  private close(): void {
    const second = { ...this.current, p50_ms: rounded(this.secondLatencies.percentile(50)), p99_ms: rounded(this.secondLatencies.percentile(99)) };
    this.seconds.push(second);
    this.onSecond(second);
    this.current = emptySecond(second.t + 1);
    this.secondLatencies.reset();
  }
}

function emptySecond(t: number): SecondStats {
  return { t, offered: 0, sent: 0, accepted: 0, rejected: 0, failed: 0, dropped_by_client: 0, p50_ms: null, p99_ms: null };
}

function rounded(ms: number | undefined): number | null {
  return ms === undefined ? null : Math.round(ms * 100) / 100;
}
