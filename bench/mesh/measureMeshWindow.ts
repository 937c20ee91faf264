import type pg from 'pg';
import { runLoad, type LoadSummary } from '../loadgen/runLoad.js';
import type { SecondStats } from '../loadgen/tally.js';
import { CommitRateMonitor } from './CommitRateMonitor.js';
import { describeCommitWindow, snapshotCommitted, type CommitWindow, type CommittedSnapshot } from './committedEvents.js';

export interface MeshLoadOptions {
  gatewayUrl: string;
  /** Pool on the mesh's database. */
  pool: pg.Pool;
  rate: number;
  durationS: number;
  /** Seconds at the start left out of every figure. */
  warmupS: number;
  batch: number;
  concurrency: number;
  users: number;
  products: number;
  signal: AbortSignal;
  /** CPU seconds used so far, by process (or group of processes). */
  cpuSeconds(): Record<string, number>;
  onSecond(second: SecondStats, committedPerS: number | undefined): void;
}

export interface MeshWindow extends CommitWindow {
  committedPerS: number;
  /** Offered, accepted and rejected per second as the load generator counted them in the window. */
  offeredPerS: number;
  acceptedPerS: number;
  rejectedPerS: number;
  /** CPU time per 1000 committed events in the window, by process. */
  cpuMsPerThousand: Record<string, number>;
  load: LoadSummary;
}

/**
 * Offers load to the gateway for `durationS` and measures the steady window after the warm-up: events
 * committed per second (rows of `events` at its start and end) and their accept-to-commit latency.
 */
export async function measureMeshWindow(options: MeshLoadOptions): Promise<MeshWindow> {
  const monitor = new CommitRateMonitor(options.pool);
  let windowStart: WindowEdge | undefined;
  let windowEnd: WindowEdge | undefined;
  const startTimer = setTimeout(() => { windowStart = edgeNow(options); }, options.warmupS * 1000);
  const endTimer = setTimeout(() => { windowEnd = edgeNow(options); }, options.durationS * 1000);
  let load: LoadSummary;
  try {
    load = await runLoad({
      rate: options.rate,
      durationS: options.durationS,
      url: options.gatewayUrl,
      batch: options.batch,
      concurrency: options.concurrency,
      users: options.users,
      products: options.products,
      signal: options.signal,
      onSecond: (second) => options.onSecond(second, monitor.perSecond),
    });
  } finally {
    clearTimeout(startTimer);
    clearTimeout(endTimer);
    monitor.stop();
  }
  if (!windowStart) throw new Error(`stopped before the end of the ${options.warmupS} s warm-up`);
  windowEnd ??= edgeNow(options);
  const [start, end] = [await windowStart.committed, await windowEnd.committed];
  const window = await describeCommitWindow(options.pool, start.at, end.at);
  const committedRows = end.rows - start.rows;
  const inWindow = load.per_second.filter((second) => second.t >= options.warmupS && second.t < options.durationS);
  const perSecond = (field: 'offered' | 'accepted' | 'rejected') => inWindow.reduce((sum, second) => sum + second[field], 0) / Math.max(inWindow.length, 1);
  return {
    ...window,
    committedPerS: committedRows / window.seconds,
    offeredPerS: perSecond('offered'),
    acceptedPerS: perSecond('accepted'),
    rejectedPerS: perSecond('rejected'),
    cpuMsPerThousand: Object.fromEntries(Object.entries(windowEnd.cpuSeconds).map(([name, seconds]) => [
      name, Math.round(((seconds - (windowStart!.cpuSeconds[name] ?? 0)) * 1e6) / Math.max(committedRows, 1)),
    ])),
    load,
  };
}

interface WindowEdge { committed: Promise<CommittedSnapshot>; cpuSeconds: Record<string, number> }

/** Taken when its moment comes and awaited later: a failed count is reported then, not as an unhandled rejection. */
function edgeNow(options: MeshLoadOptions): WindowEdge {
  const committed = snapshotCommitted(options.pool);
  committed.catch(() => undefined);
  return { committed, cpuSeconds: options.cpuSeconds() };
}
