import type { SecondStats } from '../loadgen/tally.js';
import type { DatabaseCeiling } from './measureDatabaseCeiling.js';
import type { MeshWindow } from './measureMeshWindow.js';
import { LOAD_GENERATOR } from './processCpu.js';

export interface MeshBenchResult {
  mesh: MeshWindow;
  ceiling: DatabaseCeiling;
  peakRssMb: Record<string, number>;
  settings: Record<string, unknown>;
}

export function describeSecond(second: SecondStats, committedPerS: number | undefined): string {
  return [
    `t=${second.t}s`,
    `offered ${second.offered}`,
    `accepted ${second.accepted}`,
    `429 ${second.rejected}`,
    ...(second.failed > 0 ? [`failed ${second.failed}`] : []),
    ...(second.dropped_by_client > 0 ? [`dropped by client ${second.dropped_by_client}`] : []),
    `committed/s ${committedPerS === undefined ? '-' : Math.round(committedPerS)}`,
  ].join('  ');
}

function ratioOf({ mesh, ceiling }: MeshBenchResult): number {
  return mesh.committedPerS / ceiling.rowsPerS;
}

export function describeResult(result: MeshBenchResult): string {
  const { mesh, ceiling, peakRssMb } = result;
  const rows: string[][] = [
    ['figure', 'value', 'note'],
    ['mesh committed', `${whole(mesh.committedPerS)} events/s`, `rows of events over the ${mesh.seconds.toFixed(1)} s steady window`],
    ['db ceiling', `${whole(ceiling.rowsPerS)} rows/s`, `commitEvents alone, one client, batches of ${ceiling.batchSize}, ${ceiling.seconds.toFixed(1)} s`],
    ['db floor', `${whole(ceiling.floor.rowsPerS)} rows/s`, `bare insert (unnest ... ON CONFLICT DO NOTHING), same client and batches, ${ceiling.floor.seconds.toFixed(1)} s`],
    ['ratio', ratioOf(result).toFixed(3), 'mesh / ceiling, target >= 0.6'],
    ['accept->commit p50', milliseconds(mesh.p50Ms), 'events.committed_at - accepted_at, in the window'],
    ['accept->commit p99', milliseconds(mesh.p99Ms), ''],
    ['sink commit size', mesh.eventsPerCommit === null ? '-' : `${mesh.eventsPerCommit.toFixed(0)} events`, 'rows per distinct committed_at'],
    ['offered', `${whole(mesh.offeredPerS)} events/s`, `load generator, batches of ${mesh.load.batch}`],
    ['accepted (202)', `${whole(mesh.acceptedPerS)} events/s`, ''],
    ['rejected (429)', `${whole(mesh.rejectedPerS)} events/s`, `${mesh.load.rejected} events in the whole run`],
    ...Object.entries(peakRssMb).map(([service, mb]) => [`peak RSS ${service}`, `${mb.toFixed(1)} MB`, '']),
    ['CPU per 1000 events', `${meshTotal(mesh.cpuMsPerThousand)} ms`, `mesh and its databases: ${describeCpu(mesh.cpuMsPerThousand)}${'redis' in mesh.cpuMsPerThousand ? '' : ' (Redis not on this machine: not counted)'}; the total leaves the load generator out`],
    ['CPU per 1000 rows', `${sum(ceiling.cpuMsPerThousand)} ms`, `db ceiling: ${describeCpu(ceiling.cpuMsPerThousand)}`],
    ['CPU per 1000 rows', `${sum(ceiling.floor.cpuMsPerThousand)} ms`, `db floor: ${describeCpu(ceiling.floor.cpuMsPerThousand)}`],
  ];
  if (mesh.load.failed > 0) rows.push(['failed requests', `${mesh.load.failed} events`, Object.keys(mesh.load.failures).join(', ')]);
  return table(rows);
}

export function resultJson(result: MeshBenchResult): string {
  const { mesh, ceiling } = result;
  return JSON.stringify({
    mesh_events_per_s: whole(mesh.committedPerS),
    db_ceiling_events_per_s: whole(ceiling.rowsPerS),
    db_floor_rows_per_s: whole(ceiling.floor.rowsPerS),
    ratio: Math.round(ratioOf(result) * 1000) / 1000,
    p50_ms: rounded(mesh.p50Ms),
    p99_ms: rounded(mesh.p99Ms),
    peak_rss_mb: result.peakRssMb,
    offered_per_s: whole(mesh.offeredPerS),
    accepted_per_s: whole(mesh.acceptedPerS),
    rejected: mesh.load.rejected,
    rejected_per_s: whole(mesh.rejectedPerS),
    failed: mesh.load.failed,
    window_s: Math.round(mesh.seconds * 100) / 100,
    sink_events_per_commit: mesh.eventsPerCommit === null ? null : Math.round(mesh.eventsPerCommit),
    ceiling_batch_events: ceiling.batchSize,
    cpu_ms_per_1000_events: { ...mesh.cpuMsPerThousand, total: meshTotal(mesh.cpuMsPerThousand) },
    ceiling_cpu_ms_per_1000_rows: ceiling.cpuMsPerThousand,
    floor_cpu_ms_per_1000_rows: ceiling.floor.cpuMsPerThousand,
    settings: result.settings,
  });
}

function sum(cpuMs: Record<string, number>): number {
  return Object.values(cpuMs).reduce((total, ms) => total + ms, 0);
}

/** The services' CPU and their databases' (Postgres, Redis), without the load generator's. */
function meshTotal(cpuMs: Record<string, number>): number {
  return sum(Object.fromEntries(Object.entries(cpuMs).filter(([name]) => name !== LOAD_GENERATOR)));
}

function describeCpu(cpuMs: Record<string, number>): string {
  return Object.entries(cpuMs).map(([name, ms]) => `${name} ${ms}`).join(', ');
}

function whole(value: number): number {
  return Math.round(value);
}

function rounded(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 10) / 10;
}

function milliseconds(ms: number | null): string {
  return ms === null ? '-' : `${ms.toFixed(1)} ms`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}
