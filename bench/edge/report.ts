import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { lineChart, type Band, type Series } from '../burst/svgChart.js';
import { CPU_WARMUP_S, SATURATION_WARMUP_S, type EdgeSettings } from './arguments.js';
import type { EdgeResult, Figures, PhaseResult } from './measureEdge.js';
import { classes, keys, type ClassName } from './traffic.js';

const classColours: Record<ClassName, string> = { purchase: '#c53030', cart: '#dd6b20', click: '#2b6cb0', view: '#718096' };
const keyColours: Record<string, string> = { calm: '#2f855a', flood: '#9b2c2c' };
const serviceColours: Record<string, string> = { gateway: '#c53030', source: '#dd6b20', enrichment: '#2b6cb0', join: '#805ad5', sink: '#2f855a' };

/** The summary `--json` prints: every figure but the seconds. */
export function resultJson(result: EdgeResult, settings: EdgeSettings): object {
  const { seconds: _seconds, ...figures } = result;
  return {
    settings: {
      mix: settings.mix, steady_share: settings.steadyShare, factor: settings.factor, before_s: settings.beforeS, burst_s: settings.burstS, after_s: settings.afterS,
      flood: settings.flood, weights: settings.weights, grpc_share: settings.grpcShare, batch: settings.batch, latency_target_ms: settings.latencyTargetMs,
      sink_concurrency: settings.sinkConcurrency, sink_delay_ms: settings.sinkDelayMs,
    },
    ...figures,
  };
}

/** bench/results/edge.md, with its charts beside it. */
export async function writeReport(result: EdgeResult, settings: EdgeSettings, command: string): Promise<string> {
  const directory = settings.reportDirectory;
  await mkdir(directory, { recursive: true });
  const bands: Band[] = result.phases.map((phase) => ({ from: phase.from_s, to: phase.to_s, label: phase.name.replace('_cpu', ' cpu').replace('saturation', 'sat.') }));
  const seconds = result.seconds;
  const perClass = (field: 'admitted' | 'shed'): Series[] => classes.map((name) => ({
    name, colour: classColours[name], points: seconds.map((sample): [number, number | null] => [sample.t, sample.edge?.[field][name] ?? 0]),
  }));
  await writeFile(path.join(directory, 'edge-admitted.svg'), lineChart([
    ...perClass('admitted'),
    { name: 'committed', colour: '#000', points: seconds.map((sample): [number, number | null] => [sample.t, sample.committed]) },
  ], { title: 'events admitted per second, by class (HTTP + gRPC), and committed', yLabel: 'events/s', bands, reference: { y: result.capacity_events_per_s, label: 'capacity' } }));
  await writeFile(path.join(directory, 'edge-shed.svg'), lineChart(perClass('shed'), {
    title: 'events shed per second, by class (HTTP 429 + gRPC producers\' full backlogs)', yLabel: 'events/s', bands,
  }));
  await writeFile(path.join(directory, 'edge-keys.svg'), lineChart(keys.flatMap((key) => [
    { name: `${key} admitted`, colour: keyColours[key] ?? '#444', points: seconds.map((sample): [number, number | null] => [sample.t, sample.edge?.admitted[key] ?? 0]) },
    { name: `${key} offered`, colour: key === 'calm' ? '#9ae6b4' : '#feb2b2', points: seconds.map((sample): [number, number | null] => [sample.t, sample.edge?.offered[key] ?? 0]) },
  ]), { title: 'events offered and admitted per second, by API key', yLabel: 'events/s', bands, logarithmic: true }));
  await writeFile(path.join(directory, 'edge-p99.svg'), lineChart(classes.map((name) => ({
    name, colour: classColours[name], points: seconds.map((sample): [number, number | null] => [sample.t, sample.p99_by_class[name] ?? null]),
  })), { title: 'accept-to-commit p99 of the events committed each second, by class', yLabel: 'ms (log scale)', bands, logarithmic: true }));
  await writeFile(path.join(directory, 'edge-rss.svg'), lineChart(Object.keys(serviceColours).map((name) => ({
    name, colour: serviceColours[name]!, points: seconds.map((sample): [number, number | null] => [sample.t, sample.rss_mb[name] ?? null]),
  })), { title: 'resident memory per service', yLabel: 'MB', bands }));

  const burst = result.phases.find((phase) => phase.name === 'burst');
  const cpu = result.grpc_vs_http_events_per_s;
  const lines = [
    '# The edge under a burst: priority classes and fair shares per key',
    '',
    `One fresh seeded mesh of the five services, the sink the clear bottleneck (it commits ${settings.sinkConcurrency} batch(es) at once, each ${settings.sinkDelayMs} ms slower), ` +
      `\`LATENCY_TARGET_MS=${settings.latencyTargetMs}\`, the gateway's default \`PRIORITY_CLASSES\` (purchase:0, cart:0.15, click:0.3, view:0.5) and two API keys, ` +
      `**calm** and **flood**, weighing ${settings.weights.calm}:${settings.weights.flood}. Traffic is mixed ${classes.map((name) => `${Math.round(settings.mix[name] * 1000) / 10} % ${name}`).join(', ')}; ` +
      `each key's batches of ${settings.batch} are split by class, one HTTP request per class, or onto a gRPC producer stream per key and class (\`x-priority-class\`); ` +
      `${Math.round(settings.grpcShare * 100)} % of each key's load goes over the gRPC ingest, the rest over HTTP.`,
    '',
    `First ${settings.saturationS} s offered ${settings.saturationRate} events/s: the committed events/s after the first ${SATURATION_WARMUP_S} s is the **capacity**, ${result.capacity_events_per_s} events/s. ` +
      `Then HTTP alone and gRPC alone, ${settings.cpuS} s each at ${settings.cpuOffer}x the capacity, the gateway's CPU read from /proc over all but the first ${CPU_WARMUP_S} s. ` +
      `Then ${settings.beforeS} s steady at ${Math.round(settings.steadyShare * 100)} % of the capacity, ${settings.burstS} s at ${settings.factor}x that, in which the flood key offers ${settings.flood}x as much per unit of weight as the calm one, ` +
      `and ${settings.afterS} s steady again; between phases and at the end up to ${settings.drainS} s for what was admitted to be committed. ` +
      `Measured by \`${command}\` on ${new Date().toISOString().slice(0, 10)}.`,
    '',
    'Offered, admitted and shed are counted by the client for each event (its id numbers it): admitted is an HTTP 202 or a gRPC acknowledgement (the event is durably in the intake); ' +
      'shed is an HTTP 429 or, on the gRPC ingest (which never refuses), an event its producer dropped because its backlog was full, its credit not keeping up. ' +
      'Latency is accept-to-commit (the intake\'s `accepted_at` to the sink\'s `committed_at`), from Postgres, of the events accepted in the phase.',
    '',
    '| figure | value |',
    '| --- | ---: |',
    `| capacity (committed events/s at saturation) | ${result.capacity_events_per_s} |`,
    `| burst: committed / capacity | ${result.burst.committed_vs_capacity} |`,
    `| burst: purchases refused in seconds where a view was admitted | ${result.burst.purchases_refused_while_views_admitted} (in ${result.burst.purchases_refused_while_views_admitted_seconds} s) |`,
    `| the same by tenths of a second | ${result.burst.purchases_refused_while_views_admitted_by_tenth.events} (in ${result.burst.purchases_refused_while_views_admitted_by_tenth.tenths} tenths) |`,
    `| keys: largest deviation from the weighted fair share, ${result.keys.contention_seconds} s of contention | ${percent(result.keys.max_share_error)} |`,
    `| the same without purchases (never refused for fair share) | ${percent(result.keys.max_share_error_below_highest_class)} |`,
    `| HTTP alone at saturation: admitted events/s, gateway CPU s/s, events per gateway CPU-second | ${cpu.http?.events_per_s} / ${cpu.http?.gateway_cpu_s_per_s} / ${cpu.http?.events_per_gateway_cpu_s} |`,
    `| gRPC alone at saturation: the same | ${cpu.grpc?.events_per_s} / ${cpu.grpc?.gateway_cpu_s_per_s} / ${cpu.grpc?.events_per_gateway_cpu_s} |`,
    `| gRPC / HTTP: events per gateway CPU-second | ${cpu.events_per_gateway_cpu_s_ratio ?? '–'} |`,
    `| gRPC refusals (sends or acknowledgements failed) | ${result.grpc_refusals} |`,
    `| lost (admitted, not committed after the drain) | ${result.lost} |`,
    `| duplicated (committed not admitted: ${result.committed_not_admitted}; counted twice: ${result.counted_twice}) | ${result.duplicated} |`,
    `| drain at the end (s) | ${result.drain_s ?? 'not within the limit'} |`,
    `| RSS growth during the burst, MB (${Object.keys(result.burst.rss_growth_mb).join(' / ')}) | ${Object.values(result.burst.rss_growth_mb).map((mb) => mb ?? '–').join(' / ')} |`,
    `| crashed | ${result.crashed.join(', ') || 'none'} |`,
    '',
    '![admitted per class and committed](edge-admitted.svg)',
    '',
    '![shed per class](edge-shed.svg)',
    '',
    '![offered and admitted per key](edge-keys.svg)',
    '',
    '![p99 per class](edge-p99.svg)',
    '',
    '![RSS per service](edge-rss.svg)',
    '',
    '## During the burst',
    '',
    ...(burst ? groupTable(burst) : []),
    '',
    '## Per phase',
    '',
    '| phase | offered/s | committed/s | offered | admitted | shed | 429 no room / unread / reserve / fair share | gRPC backlog full | HTTP client dropped | p99 ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
    ...result.phases.map((phase) => `| ${phase.name} | ${phase.offered_per_s} | ${phase.committed_per_s} | ${phase.all.offered} | ${phase.all.admitted} | ${phase.all.shed} | ` +
      `${phase.all.no_room} / ${phase.all.no_room_unread} / ${phase.all.reserve} / ${phase.all.fair_share} | ${phase.all.grpc_backlog_full} | ${phase.all.http_client_dropped} | ${phase.all.p99_ms ?? '–'} |`),
    '',
    'Per second (the charts) what was admitted or shed is counted in the second it was answered; per phase, the events offered in it, whatever became of them. ' +
      'A purchase refused "while views were admitted" is one answered 429 in a second (or tenth) in which some view was answered 202 or acknowledged.',
    '',
  ];
  const file = path.join(directory, 'edge.md');
  await writeFile(file, lines.join('\n'));
  return file;
}

function groupTable(phase: PhaseResult): string[] {
  const row = (name: string, group: Figures) => `| ${name} | ${group.offered} | ${group.admitted} | ${percent(group.offered > 0 ? group.admitted / group.offered : null)} | ${group.shed} | ` +
    `${group.no_room} / ${group.no_room_unread} / ${group.reserve} / ${group.fair_share} | ${group.grpc_backlog_full} | ${group.p99_ms ?? '–'} |`;
  return [
    '| class / key / protocol | offered | admitted | admitted share | shed | 429 no room / unread / reserve / fair share | gRPC backlog full | p99 ms |',
    '| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
    ...classes.map((name) => row(`**${name}**`, phase.classes[name])),
    ...keys.map((name) => row(`key **${name}**`, phase.keys[name])),
    row('HTTP', phase.protocols.http),
    row('gRPC', phase.protocols.grpc),
  ];
}

function percent(value: number | null): string {
  return value === null ? '–' : `${(value * 100).toFixed(1)} %`;
}
