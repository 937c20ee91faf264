import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SecondSample } from '../burst/SecondRecorder.js';
import { lineChart, type Band, type Series } from '../burst/svgChart.js';
import { SATURATION_WARMUP_S, type LatencySettings } from './arguments.js';
import { p99BoundMs, type ModeResult } from './measureWindows.js';
import type { PhaseResult, Spread } from './phaseFigures.js';

const colours: Record<string, string> = { fixed: '#c53030', adaptive: '#2b6cb0' };
const intakeColours: Record<string, string> = { fixed: '#f6ad55', adaptive: '#68d391' };
const services = ['gateway', 'source', 'enrichment', 'join', 'sink'];

export interface LatencyJson {
  target_ms: number;
  phase_s: number;
  slowdown: number;
  slow_per: 'event' | 'batch';
  p99_bound_ms: number;
  modes: Record<string, Omit<ModeResult, 'seconds' | 'mode'>>;
}

/** The summary `--json` prints: the settings that shape it, then per mode its figures and phases (not its seconds). */
export function resultJson(results: ModeResult[], settings: LatencySettings): LatencyJson {
  return {
    target_ms: settings.targetMs,
    phase_s: settings.phaseS,
    slowdown: settings.slowdown,
    slow_per: settings.slowPer,
    p99_bound_ms: p99BoundMs(settings),
    modes: Object.fromEntries(results.map(({ mode, seconds: _seconds, ...figures }) => [mode, figures])),
  };
}

const hopsInFlight = (sample: SecondSample) => sample.hops === null ? null
  : Object.values(sample.hops).reduce((total, hop) => total + hop.queued - (hop.intake ?? 0) + hop.in_flight, 0);
const intakeLength = (sample: SecondSample) => sample.hops === null ? null
  : Object.values(sample.hops).reduce((total, hop) => total + (hop.intake ?? 0), 0);

/** bench/results/latency.md, with its charts beside it. */
export async function writeReport(results: ModeResult[], settings: LatencySettings, command: string): Promise<string> {
  await mkdir(settings.reportDirectory, { recursive: true });
  // The phases of the first mode; the other's start within a few seconds of them (the drains between phases differ).
  const bands: Band[] = (results[0]?.phases ?? []).map((phase) => ({ from: phase.from_s, to: phase.to_s, label: label(phase) }));
  const series = (value: (sample: SecondSample) => number | null): Series[] => results.map((result) => ({
    name: result.mode, colour: colours[result.mode] ?? '#444', points: result.seconds.map((sample) => [sample.t, value(sample)]),
  }));
  await writeFile(path.join(settings.reportDirectory, 'latency-p99.svg'), lineChart(series((sample) => sample.p99_ms), {
    title: 'accept-to-commit latency, p99 of the events committed each second', yLabel: 'ms (log scale)', bands, logarithmic: true,
    reference: { y: settings.targetMs, label: `target ${settings.targetMs} ms` },
  }));
  await writeFile(path.join(settings.reportDirectory, 'latency-committed.svg'), lineChart(series((sample) => sample.committed), {
    title: 'events committed per second', yLabel: 'events/s', bands,
  }));
  const inFlight: Series[] = results.flatMap((result) => [
    { name: `${result.mode}: hops`, colour: colours[result.mode] ?? '#444', points: result.seconds.map((sample): [number, number | null] => [sample.t, hopsInFlight(sample)]) },
    { name: `${result.mode}: intake`, colour: intakeColours[result.mode] ?? '#999', points: result.seconds.map((sample): [number, number | null] => [sample.t, intakeLength(sample)]) },
  ]);
  await writeFile(path.join(settings.reportDirectory, 'latency-in-flight.svg'), lineChart(inFlight, {
    title: 'events in flight: queued at and sent by the hops, and in the intake', yLabel: 'events', bands,
  }));

  const lines = [
    '# Fixed and adaptive windows, side by side',
    '',
    `Each mode on a fresh seeded mesh of the five services: first ${settings.saturationS} s offered ${settings.saturationRate} events/s, far more than the mesh commits, ` +
      `whose committed events/s after the first ${SATURATION_WARMUP_S} s is its capacity; then ${settings.phaseS} s each at 50 %, 80 %, 100 % and 1000 % of that capacity; ` +
      `then, at 100 %, ${settings.slowS} s with the sink's batches of saturation's size ${settings.slowdown}x slower and ${settings.afterS} s back to normal. ` +
      (settings.slowPer === 'event'
        ? 'The slowdown is a wait per event (the fault switch `slow_sink_us_per_event`, set through the gateway), as a database slowed per row: a smaller batch is slowed less. '
        : 'The slowdown is one wait over every batch (the fault switch `slow_sink_ms`, set through the gateway), whatever its size. ') +
      `Last, at 100 %, the sink stalls (each batch held 5 s) and the source's events sent to enrichment are watched every 10 ms: how long it goes on reading the intake. ` +
      `Between phases (not between the slowdown and what follows it) up to ${settings.drainS} s for what was accepted to be committed. ` +
      `The sink commits ${settings.sinkConcurrency} batch(es) at once, each ${settings.sinkDelayMs} ms slower (\`SINK_DELAY_MS\`), so that it is the slowest hop and the mesh has a clear capacity; ` +
      `every service has a ${settings.heapMb} MB heap; requests of ${settings.batch} events. Measured by \`${command}\` on ${new Date().toISOString().slice(0, 10)}.`,
    '',
    '- **fixed**: `LATENCY_TARGET_MS=0`, every window at its capacity (`LINK_CAPACITY`, `INTAKE_MAX_LENGTH`).',
    `- **adaptive**: \`LATENCY_TARGET_MS=${settings.targetMs}\`, every receiver and the intake's unread entries sized to a quarter of the target.`,
    '',
    '| | ' + results.map((result) => result.mode).join(' | ') + ' |',
    '| --- | ' + results.map(() => '---').join(' | ') + ' |',
    row('capacity: committed events/s at saturation', results, (result) => result.saturation_events_per_s),
    row('a sink batch at saturation (ms)', results, (result) => result.sink_batch_ms ?? '–'),
    row('the fault switch during the slowdown', results, (result) => Object.entries(result.slowdown_switch).map(([name, value]) => `\`${name}\` ${value}`).join(', ')),
    row('**p99 at 100 %** (ms)', results, (result) => result.p99_ms_at_100 ?? '–'),
    row('**p99 at 1000 %** (ms)', results, (result) => result.p99_ms_at_1000 ?? '–'),
    row(`**p99 back under ${settings.targetMs} ms** after the slowdown starts (s)`, results, (result) => result.recovery_s_after_slowdown ?? 'never'),
    row(`**p99 back under ${p99BoundMs(settings)} ms** (the target + 250 ms) after the slowdown starts (s)`, results, (result) => result.recovery_s_under_p99_bound ?? 'never'),
    row(`p99 back under ${settings.targetMs} ms after the slowdown ends (s)`, results, (result) => result.recovery_s_after_slowdown_ends ?? 'never'),
    row('source stops reading after a sink stall (ms)', results, (result) => result.source_stop_ms_after_stall ?? 'not within 2.5 s'),
    row('RSS growth from 100 % on, largest service (MB)', results, (result) => result.rss_growth_mb ?? '–'),
    row('peak RSS, largest service (MB)', results, (result) => result.peak_rss_mb ?? '–'),
    row('crashed', results, (result) => result.crashed.join(', ') || 'none'),
    '',
    '![p99 accept-to-commit latency per second, both modes](latency-p99.svg)',
    '',
    '![events committed per second](latency-committed.svg)',
    '',
    '![events in flight in the hops and in the intake](latency-in-flight.svg)',
    '',
    '## Per phase',
    '',
    'Latency is of the events accepted in the phase (committed by the end of the run); committed/s is of the events committed in it, whenever accepted. ' +
      'In flight is the mean / largest, over the phase\'s seconds, of the events queued at and sent by every hop (the intake left out); the intake, the source\'s; ' +
      '429 share is of the events offered. RSS is each service\'s at the end of the phase.',
    '',
    '| phase | mode | offered/s | committed/s | p50 ms | p99 ms | max ms | in flight | intake | 429 share | RSS MB (' + services.join(' / ') + ') |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...(results[0]?.phases ?? []).flatMap((_, index) => results.map((result) => phaseRow(result.mode, result.phases[index]))),
    '',
    'The phases shaded on the charts are those of the first mode; the other\'s start within a few seconds of them, the drains between phases differing. ' +
      'The p99 chart is by commit second, as is the recovery: the first second after which p99 stays under the target up to the end of the phase after the slowdown ' +
      '(a second with load offered and nothing committed counts as over it).',
    '',
  ];
  // Every second of every mode, for whoever wants to look closer than the charts.
  await writeFile(path.join(settings.reportDirectory, 'latency-seconds.json'), JSON.stringify(Object.fromEntries(results.map((result) => [result.mode, result.seconds]))));
  const file = path.join(settings.reportDirectory, 'latency.md');
  await writeFile(file, lines.join('\n'));
  return file;
}

function label(phase: PhaseResult): string {
  return phase.name === 'saturation' ? 'sat.' : phase.name === 'slow_sink' ? 'slow sink' : phase.name === 'after_slowdown' ? 'after' : `${Math.round((phase.offered_share ?? 0) * 100)}%`;
}

function phaseRow(mode: string, phase: PhaseResult | undefined): string {
  if (!phase) return `| – | ${mode} | | | | | | | | | |`;
  const cells = [
    phase.name, mode, phase.offered_events_per_s, phase.committed_events_per_s, phase.p50_ms ?? '–', phase.p99_ms ?? '–', phase.max_ms ?? '–',
    spread(phase.in_flight_total), spread(phase.intake),
    phase.rejected_429_share === null ? '–' : `${(phase.rejected_429_share * 100).toFixed(1)} %`,
    services.map((service) => phase.rss_mb_at_end[service] ?? '–').join(' / '),
  ];
  return `| ${cells.join(' | ')} |`;
}

function spread(figures: Spread): string {
  return figures.mean === null ? '–' : `${figures.mean} / ${figures.max}`;
}

function row(label: string, results: ModeResult[], value: (result: ModeResult) => string | number): string {
  return `| ${label} | ${results.map((result) => String(value(result))).join(' | ')} |`;
}
