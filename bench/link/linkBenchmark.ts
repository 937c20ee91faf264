import { parseArgs } from 'node:util';
import type { ChildExit } from './ChildHandle.js';
import type { RssGrowth } from './RssRecorder.js';
import { BATCH_SIZE } from './eventPool.js';
import { measureStall, STALL_MS, type StallRun } from './measureStall.js';
import { measureThroughput, type ThroughputRun } from './measureThroughput.js';
import type { LinkMode } from './messages.js';
import { positiveInteger } from '../numberArguments.js';

// Swept on a noisy 2-core machine (median flow/raw of 5 runs, +-10% between sweeps): 256 -> 1.21,
// 512 -> 1.10, 1024 -> 0.91..1.13, 2048 -> 0.98, 4096 -> 0.94..0.99, 16384 -> 0.85, 65536 -> 0.94.
// The link is capped by grpc-js's 64 KiB HTTP/2 receive window (about 600 of these events), so
// credit beyond that only queues frames in buffers. Below 1024 the sender splits most batches to
// fit the credit it has, and the slack left (a millisecond at 200k events/s) is thin.
const DEFAULT_CAPACITY = 1024;

/**
 * The flow-controlled link against a bare grpc-js stream, each end in its own
 * process over loopback: throughput (flow, raw) and memory while the receiver
 * stalls (flow, raw-ignoring-drain).
 */
export async function runLinkBenchmark(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      runs: { type: 'string', default: '5' },
      capacity: { type: 'string', default: String(DEFAULT_CAPACITY) },
    },
  });
  const runs = positiveInteger(values.runs, '--runs');
  const capacity = positiveInteger(values.capacity, '--capacity');
  console.log(`link benchmark: batches of ${BATCH_SIZE} events, flow capacity ${capacity} events, ${runs} runs per mode; throughput in events/s at the receiver`);

  const throughput: { flow: ThroughputRun[]; raw: ThroughputRun[] } = { flow: [], raw: [] };
  for (let run = 1; run <= runs; run += 1) {
    for (const mode of ['flow', 'raw'] as const) {
      const result = await measureThroughput(mode, capacity);
      throughput[mode].push(result);
      console.log(`throughput ${mode.padEnd(4)} run ${run}/${runs}: ${describeThroughput(result)}`);
    }
  }
  const measureStallAndReport = async (mode: LinkMode) => {
    const result = await measureStall(mode, capacity);
    console.log(`stall ${mode}: ${describeStall(result)}`);
    return result;
  };
  const flowStall = await measureStallAndReport('flow');
  const rawStall = await measureStallAndReport('raw-ignoring-drain');

  const flowEventsPerS = median(throughput.flow);
  const rawEventsPerS = median(throughput.raw);
  const ratio = flowEventsPerS !== undefined && rawEventsPerS !== undefined ? flowEventsPerS / rawEventsPerS : undefined;
  console.log('');
  console.log(table([
    ['throughput', 'median events/s', 'runs (events/s)'],
    ['flow', formatRate(flowEventsPerS), throughput.flow.map(describeThroughput).join(', ')],
    ['raw', formatRate(rawEventsPerS), throughput.raw.map(describeThroughput).join(', ')],
    ['flow/raw', ratio?.toFixed(3) ?? 'n/a', 'target >= 0.95'],
  ]));
  console.log('');
  console.log(table([
    [`stall ${STALL_MS / 1000} s`, 'receiver RSS', 'sender RSS', 'crashed'],
    ...[flowStall, rawStall].map((run) => [run.mode, formatGrowth(run.receiver), formatGrowth(run.sender), describeCrash(run.crashed)]),
  ]));

  if (values.json) {
    console.log(JSON.stringify({
      batch_size: BATCH_SIZE,
      capacity,
      flow_events_per_s: round(flowEventsPerS),
      raw_events_per_s: round(rawEventsPerS),
      ratio: ratio === undefined ? null : Math.round(ratio * 1000) / 1000,
      flow_stall_rss_growth_mb: largestGrowthMb(flowStall),
      raw_stall_rss_growth_mb: largestGrowthMb(rawStall),
      flow_runs_events_per_s: throughput.flow.map(runFigure),
      raw_runs_events_per_s: throughput.raw.map(runFigure),
      stall_ms: STALL_MS,
      stalls: [flowStall, rawStall].map((run) => ({
        mode: run.mode,
        crashed: run.crashed !== undefined,
        crash: run.crashed ?? null,
        receiver: rssFigures(run.receiver),
        sender: rssFigures(run.sender),
      })),
    }));
  }
}

function eventsPerS(run: ThroughputRun): number | undefined {
  return 'eventsPerS' in run ? run.eventsPerS : undefined;
}

function median(runs: ThroughputRun[]): number | undefined {
  const rates = runs.map(eventsPerS).filter((rate) => rate !== undefined).sort((a, b) => a - b);
  if (rates.length === 0) return undefined;
  const middle = Math.floor(rates.length / 2);
  return rates.length % 2 === 1 ? rates[middle] : (rates[middle - 1]! + rates[middle]!) / 2;
}

function largestGrowthMb(run: StallRun): number {
  return Math.max(run.receiver.growthMb, run.sender.growthMb);
}

function round(value: number | undefined): number | null {
  return value === undefined ? null : Math.round(value);
}

function runFigure(run: ThroughputRun): number | { crashed: ChildExit } {
  return 'eventsPerS' in run ? Math.round(run.eventsPerS) : { crashed: run.crashed };
}

function formatRate(rate: number | undefined): string {
  return rate === undefined ? 'n/a' : Math.round(rate).toLocaleString('en-US');
}

function describeCrash(crash: ChildExit | undefined): string {
  return crash ? `${crash.name} (${crash.signal ?? `exit ${crash.code}`})` : 'no';
}

function describeThroughput(run: ThroughputRun): string {
  return 'eventsPerS' in run ? formatRate(run.eventsPerS) : `crashed: ${describeCrash(run.crashed)}`;
}

function rssFigures(growth: RssGrowth) {
  return { baseline_mb: growth.baselineMb, peak_mb: growth.peakMb, growth_mb: growth.growthMb, samples_mb: growth.samplesMb };
}

function formatGrowth({ growthMb, baselineMb, peakMb }: RssGrowth): string {
  return `+${growthMb.toFixed(1)} MB (${baselineMb.toFixed(0)} -> ${peakMb.toFixed(0)})`;
}

function describeStall(run: StallRun): string {
  const crash = run.crashed ? `, crashed: ${describeCrash(run.crashed)}` : '';
  return `receiver ${formatGrowth(run.receiver)}, sender ${formatGrowth(run.sender)}${crash}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}
