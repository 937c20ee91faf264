import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BurstSettings } from './arguments.js';
import type { ModeResult } from './measureMode.js';
import { lineChart, type Series } from './svgChart.js';

const colours: Record<string, string> = { flow: '#2b6cb0', naive: '#c53030', decoupled: '#d69e2e' };

/** The summary `--json` prints: per mode, the figures the issue names and a few more. */
export function resultJson(results: ModeResult[]): { modes: Record<string, Omit<ModeResult, 'seconds' | 'mode'>> } {
  return { modes: Object.fromEntries(results.map(({ mode, seconds: _seconds, ...figures }) => [mode, figures])) };
}

/** bench/results/burst.md, with its two charts beside it. */
export async function writeReport(results: ModeResult[], settings: BurstSettings, command: string): Promise<string> {
  await mkdir(settings.reportDirectory, { recursive: true });
  const band: [number, number] = [settings.beforeS, settings.beforeS + settings.burstS];
  const largestRss = (sample: ModeResult['seconds'][number]) => {
    const alive = Object.values(sample.rss_mb).filter((mb): mb is number => mb !== null);
    return alive.length > 0 ? Math.max(...alive) : null;
  };
  const series = (value: (sample: ModeResult['seconds'][number]) => number | null): Series[] => results.map((result) => ({
    name: result.mode, colour: colours[result.mode] ?? '#444', points: result.seconds.map((sample) => [sample.t, value(sample)]),
  }));
  await writeFile(path.join(settings.reportDirectory, 'burst-rss.svg'), lineChart(series(largestRss), {
    title: 'RSS of the largest service', yLabel: 'MB', band,
  }));
  await writeFile(path.join(settings.reportDirectory, 'burst-latency.svg'), lineChart(series((sample) => sample.p99_ms), {
    title: 'accept-to-commit latency, p99 of the events committed each second', yLabel: 'ms (log scale)', band, logarithmic: true,
  }));
  await writeFile(path.join(settings.reportDirectory, 'burst-committed.svg'), lineChart(series((sample) => sample.committed), {
    title: 'events committed per second', yLabel: 'events/s', band,
  }));
  const lines = [
    '# The burst, side by side',
    '',
    `Steady load of ${settings.steadyRate} events/s, a step to ${settings.steadyRate * settings.factor} events/s (${settings.factor}x) after ${settings.beforeS} s for ${settings.burstS} s, ` +
      `then ${settings.afterS} s steady again, and up to ${settings.drainS} s for what was accepted to be committed; the same five services, wired three ways; ` +
      `every service limited to a ${settings.heapMb} MB heap (\`--max-old-space-size\`); the sink commits ${settings.sinkConcurrency} batch(es) at once, each ${settings.sinkDelayMs} ms slower (\`SINK_DELAY_MS\`), ` +
      `so that it is the slowest hop, as the database is in the story; a service that dies stays dead. Measured by \`${command}\` on ${new Date().toISOString().slice(0, 10)}.`,
    '',
    '- **flow**: the mesh as designed, demand end to end.',
    '- **naive**: the same links with credit as good as unlimited and an unbounded intake: every hop takes all it is sent and queues it in memory.',
    '- **decoupled**: the stages connected through Redis Streams (a topic in front of each) with no demand between them, each reading at its own pace; the intake unbounded.',
    '',
    '| | ' + results.map((result) => result.mode).join(' | ') + ' |',
    '| --- | ' + results.map(() => '---').join(' | ') + ' |',
    row('events accepted (202)', results, (result) => result.accepted),
    row('requests answered 429 (events)', results, (result) => result.rejected_429),
    row('events committed', results, (result) => result.committed),
    row('**lost** (accepted, never committed)', results, (result) => result.lost),
    row('**duplicated**', results, (result) => result.duplicated),
    row('**crashed**', results, (result) => result.crashed.join(', ') || 'none'),
    row('peak RSS, largest service (MB)', results, (result) => result.peak_rss_mb),
    row('RSS growth over the burst (MB)', results, (result) => result.rss_growth_mb),
    ...['gateway', 'source', 'enrichment', 'join', 'sink'].map((service) => row(`peak RSS ${service} (MB)`, results, (result) => result.peak_rss_by_service[service] ?? '–')),
    row('peak Redis memory (MB)', results, (result) => result.peak_redis_mb ?? '–'),
    row('p99 accept-to-commit, accepted during the burst (ms)', results, (result) => result.p99_ms_during_burst ?? '–'),
    row('p99 accept-to-commit, accepted after it (ms)', results, (result) => result.p99_ms_after_burst ?? '–'),
    row('time to drain after the load (s)', results, (result) => result.drain_s ?? `not within ${settings.drainS}`),
    '',
    '![RSS of the largest service over time](burst-rss.svg)',
    '',
    '![p99 accept-to-commit latency over time](burst-latency.svg)',
    '',
    '![events committed per second](burst-committed.svg)',
    '',
    'Lost counts accepted events not in `events` when the run ends; with nothing restarted they stay in the intake (or a topic), so a restart',
    'would deliver them late. Duplicated counts events counted twice in `item_minute`; the sink inserts each event id once in every mode.',
    'Latency is by commit second; an event never committed has none, so a mode that loses events looks better on latency than it is.',
    '',
  ];
  const file = path.join(settings.reportDirectory, 'burst.md');
  await writeFile(file, lines.join('\n'));
  return file;
}

function row(label: string, results: ModeResult[], value: (result: ModeResult) => string | number): string {
  return `| ${label} | ${results.map((result) => String(value(result))).join(' | ')} |`;
}
