import type { LoadSummary } from './runLoad.js';
import type { SecondStats } from './tally.js';

/** One line per second: rewritten in place on a terminal, appended otherwise (logs, CI). */
export class ProgressLine {
  private showing = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  show(second: SecondStats, inFlight: number): void {
    const line = describeSecond(second, inFlight);
    if (this.out.isTTY) {
      this.out.write(`\r${line}\x1b[K`);
      this.showing = true;
    } else {
      this.out.write(`${line}\n`);
    }
  }

  /** Leaves the last in-place line standing before anything else is printed. */
  end(): void {
    if (this.showing) this.out.write('\n');
    this.showing = false;
  }
}

export function describeSecond(second: SecondStats, inFlight: number): string {
  return [
    `t=${second.t}s`,
    `sent ${second.sent}`,
    `accepted ${second.accepted}`,
    `429 ${second.rejected}`,
    `failed ${second.failed}`,
    ...(second.dropped_by_client > 0 ? [`dropped ${second.dropped_by_client}`] : []),
    `p50 ${milliseconds(second.p50_ms)}`,
    `p99 ${milliseconds(second.p99_ms)}`,
    `in flight ${inFlight}`,
  ].join('  ');
}

export function describeSummary(summary: LoadSummary): string {
  const lines = [
    `loadgen run ${summary.run_id} against ${summary.url}${summary.stopped_early ? ' (stopped early)' : ''}: ${summary.duration_s} s, batches of ${summary.batch}, at most ${summary.concurrency} in flight`,
    `  offered   ${summary.offered_rate} events/s`,
    `  sent      ${summary.sent} events`,
    `  accepted  ${summary.accepted} events (${summary.accepted_per_s}/s), latency p50 ${milliseconds(summary.p50_ms)}, p99 ${milliseconds(summary.p99_ms)}`,
    `  rejected  ${summary.rejected} events (429)${summary.retried > 0 ? `, ${summary.retried} retried` : ''}`,
    `  failed    ${summary.failed} events`,
    ...Object.entries(summary.failures).map(([reason, { events, example }]) => `    ${reason}: ${events} events${example ? `, e.g. ${example}` : ''}`),
    `  dropped   ${summary.dropped_by_client} events by the client (concurrency limit)`,
  ];
  return lines.join('\n');
}

function milliseconds(ms: number | null): string {
  return ms === null ? '-' : `${ms.toFixed(1)} ms`;
}
