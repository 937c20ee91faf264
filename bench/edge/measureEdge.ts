import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRedis, type Redis } from '../../lib/storage/redis.js';
import { countDuplicated, latencyByCommitSecond } from '../burst/outcome.js';
import { PhaseLog } from '../burst/PhaseLog.js';
import { SecondRecorder, type SecondSample } from '../burst/SecondRecorder.js';
import { newRunId } from '../loadgen/eventFactory.js';
import { describeCommitWindow, snapshotCommitted } from '../mesh/committedEvents.js';
import { cpuSecondsOf } from '../mesh/processCpu.js';
import { redisUrl } from '../mesh/scratchKeyPrefix.js';
import { startSeededMesh } from '../mesh/startSeededMesh.js';
import { CPU_WARMUP_S, SATURATION_WARMUP_S, type EdgeSettings } from './arguments.js';
import { EdgeLoad, type Rates } from './EdgeLoad.js';
import { committedBetween, committedSet, latencyGroups, p99ByKindAndCommitSecond, type LatencyGroup } from './edgeDatabase.js';
import { Outcome, originOf, type EventLedger as Ledger } from './EventLedger.js';
import { EventLedger } from './EventLedger.js';
import { refusedWhileLowerAdmitted, shareError, type ShareError } from './figures.js';
import { ledgerFigures, type Counts, type GroupCounts, type LedgerSecond } from './ledgerFigures.js';
import { classes, keyShares, keys, protocols, type ClassName, type KeyName, type Protocol } from './traffic.js';

const USERS = 1000;
const PRODUCTS = 500;

export interface PhaseWindow { name: string; fromS: number; toS: number; offeredPerS: number }

/** A group's counts with the p99 (and p50) accept-to-commit of its events accepted in the phase. */
export type Figures = Counts & { committed: number; p50_ms: number | null; p99_ms: number | null };

export interface PhaseResult {
  name: string;
  from_s: number;
  to_s: number;
  offered_per_s: number;
  all: Figures;
  classes: Record<ClassName, Figures>;
  keys: Record<KeyName, Figures>;
  protocols: Record<Protocol, Figures>;
  /** `http:purchase`, `grpc:view`, `calm:cart`, ...: counts only. */
  pairs: Record<string, Counts>;
  /** Committed per second, by commit time, during the phase. */
  committed_per_s: number;
}

export interface CpuPhase {
  protocol: Protocol;
  /** Events admitted per second over the phase's counted seconds. */
  events_per_s: number;
  /** Gateway CPU seconds per second meanwhile. */
  gateway_cpu_s_per_s: number;
  events_per_gateway_cpu_s: number;
  shed_per_s: number;
}

export interface EdgeResult {
  run_id: string;
  capacity_events_per_s: number;
  phases: PhaseResult[];
  burst: {
    classes: Record<ClassName, Figures>;
    keys: Record<KeyName, Figures>;
    purchases_refused_while_views_admitted: number;
    /** The seconds in which that happened; and the same at a tenth of a second's resolution (a finer look). */
    purchases_refused_while_views_admitted_seconds: number;
    purchases_refused_while_views_admitted_by_tenth: { events: number; tenths: number };
    committed_vs_capacity: number;
    rss_growth_mb: Record<string, number | null>;
  };
  keys: {
    max_share_error: number | null;
    contention_seconds: number;
    share: ShareError<KeyName>;
    /** The same without purchases: the highest class, which the admission never refuses for fair share. */
    max_share_error_below_highest_class: number | null;
    share_below_highest_class: ShareError<KeyName>;
  };
  grpc_vs_http_events_per_s: { http: CpuPhase; grpc: CpuPhase; events_per_s_ratio: number | null; events_per_gateway_cpu_s_ratio: number | null };
  grpc_refusals: number;
  grpc_resets: number;
  admitted: number;
  committed: number;
  lost: number;
  duplicated: number;
  /** Of `duplicated`: committed ids that were never admitted (e.g. a request that failed or timed out after the intake had it); and counts beyond the rows (item_minute). */
  committed_not_admitted: number;
  counted_twice: number;
  drain_s: number | null;
  /** The gateway's own counters (mesh_edge_class_events_total / mesh_edge_key_events_total) at the end of the run, beside the client's. */
  gateway_counters: Record<string, Record<string, number>>;
  crashed: string[];
  seconds: Array<SecondSample & { edge: LedgerSecond | null; p99_by_class: Partial<Record<ClassName, number>> }>;
}

/** The whole run on one fresh seeded mesh: capacity, the gateway's CPU per protocol, then steady, burst, steady, and the drain. */
export async function measureEdge(settings: EdgeSettings, signal: AbortSignal): Promise<EdgeResult> {
  const tokens = { calm: randomBytes(12).toString('hex'), flood: randomBytes(12).toString('hex') } as Record<KeyName, string>;
  const seeded = await startSeededMesh({
    users: USERS,
    products: PRODUCTS,
    env: {
      LATENCY_TARGET_MS: String(settings.latencyTargetMs),
      NODE_OPTIONS: [process.env.NODE_OPTIONS, `--max-old-space-size=${settings.heapMb}`].filter(Boolean).join(' '),
    },
    serviceEnv: {
      sink: { STAGE_CONCURRENCY: String(settings.sinkConcurrency), SINK_DELAY_MS: String(settings.sinkDelayMs) },
      gateway: {
        GATEWAY_API_KEYS: keys.map((key) => `${key}:${tokens[key]}`).join(','),
        GATEWAY_KEY_WEIGHTS: keys.map((key) => `${key}:${settings.weights[key]}`).join(','),
      },
    },
  });
  const redis: Redis = createRedis(redisUrl, { name: 'edge-bench' });
  const runId = newRunId();
  const ledger = new EventLedger();
  let load: EdgeLoad | undefined;
  try {
    const { mesh, pool } = seeded;
    const gatewayPid = mesh.services.gateway.pid;
    const timeline = new PhaseLog();
    const { startMs } = timeline;
    const startEpochMs = Date.now() - (performance.now() - startMs);
    const edgeLoad = load = new EdgeLoad({
      gatewayUrl: mesh.gatewayUrl, ingestAddress: mesh.ingestAddress, tokens, runId, ledger, startMs, mix: settings.mix,
      batch: settings.batch, concurrency: settings.concurrency, grpcBatch: settings.grpcBatch, grpcBacklog: settings.grpcBacklog, users: USERS, products: PRODUCTS,
    });
    let lastLine = { offered: 0, admitted: 0 };
    const recorder = new SecondRecorder(mesh, pool, redis, startMs, (sample) => {
      const offered = ledger.count;
      const admitted = ledger.admitted;
      console.error(`[edge] ${timeline.at(sample.t)} t=${sample.t}s offered ${offered - lastLine.offered} admitted ${admitted - lastLine.admitted} committed ${sample.committed}` +
        ` grpc backlog ${edgeLoad.grpcBacklog} rss max ${Math.max(0, ...Object.values(sample.rss_mb).map((mb) => mb ?? 0)).toFixed(0)} MB`);
      lastLine = { offered, admitted };
    }, tokens.calm);
    const windows: PhaseWindow[] = [];

    for (let waited = 0; !edgeLoad.grpcConnected; waited += 100) {
      if (waited > 15_000) throw new Error('the gRPC producers did not connect to the ingest within 15 s');
      await sleep(100);
    }

    /** Every key's rate over each protocol, for `total` events/s, keys sharing it by `flood`, `grpcShare` of each over gRPC. */
    const ratesFor = (total: number, grpcShare: number, flood = 1): Rates => {
      const shares = keyShares(settings.weights, flood);
      return Object.fromEntries(keys.map((key) => [key, { http: total * shares[key] * (1 - grpcShare), grpc: total * shares[key] * grpcShare }])) as Rates;
    };
    /** Offers for `seconds` from the next whole second of the recorder's clock; `during` runs alongside. */
    const offer = async (name: string, seconds: number, offeredPerS: number, ratesAt: (elapsedS: number) => Rates, during?: () => Promise<void>) => {
      await sleep(Math.ceil(timeline.nowS()) * 1000 - timeline.nowS() * 1000);
      const fromS = Math.round(timeline.nowS());
      timeline.entering(name);
      await Promise.all([edgeLoad.offer(seconds, ratesAt, signal), during?.()]);
      windows.push({ name, fromS, toS: fromS + seconds, offeredPerS });
      return fromS;
    };
    const drain = async (limitS = settings.drainS): Promise<number | null> => {
      timeline.entering('drain');
      const fromMs = performance.now();
      while (performance.now() - fromMs < limitS * 1000 && !signal.aborted) {
        if (edgeLoad.idle && (await snapshotCommitted(pool)).rows >= ledger.admitted) return Math.round((performance.now() - fromMs) / 100) / 10;
        await sleep(500);
      }
      return null;
    };
    const wait = (seconds: number) => sleep(seconds * 1000, undefined, { signal }).catch(() => undefined);

    // The capacity: far more offered than the sink commits, over both protocols; counted once the mesh has filled up.
    let capacity = 0;
    await offer('saturation', settings.saturationS, settings.saturationRate, () => ratesFor(settings.saturationRate, settings.grpcShare), async () => {
      await wait(SATURATION_WARMUP_S);
      const from = await snapshotCommitted(pool);
      await wait(settings.saturationS - SATURATION_WARMUP_S);
      const to = await snapshotCommitted(pool);
      const window = await describeCommitWindow(pool, from.at, to.at);
      capacity = window.seconds > 0 ? (to.rows - from.rows) / window.seconds : 0;
    });
    if (capacity <= 0) throw new Error('nothing was committed while measuring the capacity');
    console.error(`edge bench: capacity ${capacity.toFixed(0)} events/s`);
    await drain();

    // The gateway's CPU per event admitted, each protocol alone at saturation.
    const cpuPhases = {} as Record<Protocol, CpuPhase>;
    for (const protocol of protocols) {
      if (signal.aborted) break;
      const rate = capacity * settings.cpuOffer;
      await offer(`${protocol}_cpu`, settings.cpuS, rate, () => ratesFor(rate, protocol === 'grpc' ? 1 : 0), async () => {
        await wait(CPU_WARMUP_S);
        const fromDs = edgeLoad.now();
        const fromCpu = gatewayPid === undefined ? undefined : cpuSecondsOf(gatewayPid);
        await wait(settings.cpuS - CPU_WARMUP_S);
        const toDs = edgeLoad.now();
        const toCpu = gatewayPid === undefined ? undefined : cpuSecondsOf(gatewayPid);
        cpuPhases[protocol] = cpuFigures(ledger, protocol, fromDs, toDs, fromCpu, toCpu);
      });
      await drain();
    }

    // Steady, the burst (the flood key flooding), steady again: one run of load, its rate stepping.
    const steady = capacity * settings.steadyShare;
    const burstRate = steady * settings.factor;
    const mainFromS = await offer('main', settings.beforeS + settings.burstS + settings.afterS, steady, (elapsedS) => (
      elapsedS >= settings.beforeS && elapsedS < settings.beforeS + settings.burstS
        ? ratesFor(burstRate, settings.grpcShare, settings.flood)
        : ratesFor(steady, settings.grpcShare)
    ));
    windows.pop();
    const burstFromS = mainFromS + settings.beforeS;
    const burstToS = burstFromS + settings.burstS;
    windows.push(
      { name: 'before', fromS: mainFromS, toS: burstFromS, offeredPerS: steady },
      { name: 'burst', fromS: burstFromS, toS: burstToS, offeredPerS: burstRate },
      { name: 'after', fromS: burstToS, toS: burstToS + settings.afterS, offeredPerS: steady },
    );
    const drainS = await drain();
    await sleep(1_100);
    recorder.stop();
    const gatewayCounters = await readGatewayCounters(mesh.gatewayUrl);
    const crashed = Object.entries(mesh.services).filter(([, service]) => !service.running).map(([name]) => name);
    const grpcRefusals = edgeLoad.grpcRefused;
    const grpcResets = edgeLoad.grpcResets;
    await edgeLoad.close();
    load = undefined;
    // The end of the run: what is committed now is all there will be.
    await mesh.stop();

    console.error('edge bench: counting');
    const figures = ledgerFigures(ledger, windows);
    const phases: PhaseResult[] = [];
    for (const window of windows) {
      phases.push(phaseResult(window, figures.phases[window.name]!, await latencyGroups(pool, startEpochMs, window.fromS, window.toS),
        await committedBetween(pool, startEpochMs, window.fromS, window.toS)));
    }
    const burst = phases.find((phase) => phase.name === 'burst')!;
    const burstSeconds = figures.seconds.filter((second) => second.t >= burstFromS && second.t < burstToS);
    const inversion = refusedWhileLowerAdmitted(burstSeconds.map((second) => ({
      highRefused: sum(second.purchaseRefusedByTenth), lowAdmitted: sum(second.viewAdmittedByTenth),
    })));
    const inversionByTenth = refusedWhileLowerAdmitted(burstSeconds.flatMap((second) => second.purchaseRefusedByTenth.map((refused, tenth) => ({
      highRefused: refused, lowAdmitted: second.viewAdmittedByTenth[tenth]!,
    }))));
    // Contention: the burst's seconds in which the edge shed something.
    const contended = burstSeconds.filter((second) => classes.some((name) => second.shed[name] > 0));
    const perKey = (pick: (second: LedgerSecond, key: KeyName) => number) => Object.fromEntries(keys.map((key) => [key, contended.reduce((total, second) => total + pick(second, key), 0)])) as Record<KeyName, number>;
    const share = shareError(perKey((second, key) => second.offered[key]), perKey((second, key) => second.admitted[key]), settings.weights);
    // Below the highest class, from the phase's counts (per second the ledger keeps classes and keys apart, not together).
    const belowOf = (field: 'offered' | 'admitted') => Object.fromEntries(keys.map((key) => [key,
      classes.slice(1).reduce((total, name) => total + (burst.pairs[`${key}:${name}`]?.[field] ?? 0), 0)])) as Record<KeyName, number>;
    const shareBelow = shareError(belowOf('offered'), belowOf('admitted'), settings.weights);

    const committed = await committedSet(pool, runId, ledger.count);
    let lost = 0;
    let committedNotAdmitted = 0;
    for (let number = 0; number < ledger.count; number += 1) {
      const admitted = ledger.outcome(number) === Outcome.admitted;
      if (admitted && committed.committed[number] === 0) lost += 1;
      if (!admitted && committed.committed[number] === 1) committedNotAdmitted += 1;
    }
    const countedTwice = await countDuplicated(pool);

    const latency = new Map((await latencyByCommitSecond(pool, startEpochMs)).map((row) => [row.t, row]));
    const byClass = new Map<number, Partial<Record<ClassName, number>>>();
    for (const row of await p99ByKindAndCommitSecond(pool, startEpochMs)) {
      const entry = byClass.get(row.t) ?? {};
      entry[row.kind as ClassName] = round(row.p99_ms)!;
      byClass.set(row.t, entry);
    }
    const seconds = recorder.samples.map((sample) => ({
      ...sample, p50_ms: round(latency.get(sample.t)?.p50_ms), p99_ms: round(latency.get(sample.t)?.p99_ms),
      edge: figures.seconds[sample.t] ?? null, p99_by_class: byClass.get(sample.t) ?? {},
    }));
    const baseline = recorder.samples.filter((sample) => sample.t < burstFromS).at(-1)?.rss_mb ?? {};
    const during = recorder.samples.filter((sample) => sample.t >= burstFromS && sample.t < burstToS);
    const rssGrowth = Object.fromEntries(Object.keys(mesh.services).map((name) => {
      const peak = Math.max(...during.map((sample) => sample.rss_mb[name] ?? 0));
      const before = baseline[name];
      return [name, before === undefined || before === null || during.length === 0 ? null : round(peak - before)];
    }));
    const ratio = (a: number | undefined, b: number | undefined) => a !== undefined && b !== undefined && b > 0 ? Math.round((a / b) * 100) / 100 : null;
    return {
      run_id: runId,
      capacity_events_per_s: Math.round(capacity),
      phases,
      burst: {
        classes: burst.classes,
        keys: burst.keys,
        purchases_refused_while_views_admitted: inversion.events,
        purchases_refused_while_views_admitted_seconds: inversion.buckets,
        purchases_refused_while_views_admitted_by_tenth: { events: inversionByTenth.events, tenths: inversionByTenth.buckets },
        committed_vs_capacity: Math.round((burst.committed_per_s / capacity) * 1000) / 1000,
        rss_growth_mb: rssGrowth,
      },
      keys: {
        max_share_error: share.max,
        contention_seconds: contended.length,
        share,
        max_share_error_below_highest_class: shareBelow.max,
        share_below_highest_class: shareBelow,
      },
      grpc_vs_http_events_per_s: {
        http: cpuPhases.http, grpc: cpuPhases.grpc,
        events_per_s_ratio: ratio(cpuPhases.grpc?.events_per_s, cpuPhases.http?.events_per_s),
        events_per_gateway_cpu_s_ratio: ratio(cpuPhases.grpc?.events_per_gateway_cpu_s, cpuPhases.http?.events_per_gateway_cpu_s),
      },
      grpc_refusals: grpcRefusals,
      grpc_resets: grpcResets,
      admitted: ledger.admitted,
      committed: committed.rows,
      lost,
      duplicated: committedNotAdmitted + countedTwice + committed.foreign,
      committed_not_admitted: committedNotAdmitted,
      counted_twice: countedTwice,
      drain_s: drainS,
      gateway_counters: gatewayCounters,
      crashed,
      seconds,
    };
  } finally {
    await load?.close().catch(() => undefined);
    redis.disconnect();
    await seeded.dispose();
  }
}

/** Events of `protocol` admitted (by when they were answered) in [fromDs, toDs), and the gateway's CPU meanwhile. */
function cpuFigures(ledger: Ledger, protocol: Protocol, fromDs: number, toDs: number, fromCpu: number | undefined, toCpu: number | undefined): CpuPhase {
  let admitted = 0;
  let shed = 0;
  for (let number = 0; number < ledger.count; number += 1) {
    const at = ledger.settledAt(number);
    if (at < fromDs || at >= toDs || originOf(ledger.origin(number)).protocol !== protocol) continue;
    const outcome = ledger.outcome(number);
    if (outcome === Outcome.admitted) admitted += 1;
    else if (outcome !== Outcome.pending && outcome !== Outcome.failed) shed += 1;
  }
  const seconds = (toDs - fromDs) / 10;
  const cpu = fromCpu === undefined || toCpu === undefined ? undefined : toCpu - fromCpu;
  return {
    protocol,
    events_per_s: Math.round(admitted / seconds),
    gateway_cpu_s_per_s: cpu === undefined ? NaN : Math.round((cpu / seconds) * 1000) / 1000,
    events_per_gateway_cpu_s: cpu === undefined || cpu <= 0 ? NaN : Math.round(admitted / cpu),
    shed_per_s: Math.round(shed / seconds),
  };
}

function phaseResult(window: PhaseWindow, counts: GroupCounts, latency: LatencyGroup[], committed: number): PhaseResult {
  const withLatency = (group: Counts, match: (row: LatencyGroup) => boolean): Figures => {
    const row = latency.find(match);
    return { ...group, committed: row?.committed ?? 0, p50_ms: round(row?.p50_ms), p99_ms: round(row?.p99_ms) };
  };
  const only = (field: 'kind' | 'key' | 'protocol', value: string) => (row: LatencyGroup) =>
    (['kind', 'key', 'protocol'] as const).every((name) => (name === field ? row[name] === value : row[name] === null));
  const protocolLetter: Record<Protocol, string> = { http: 'h', grpc: 'g' };
  return {
    name: window.name,
    from_s: window.fromS,
    to_s: window.toS,
    offered_per_s: Math.round(window.offeredPerS),
    all: withLatency(counts.all, (row) => row.kind === null && row.key === null && row.protocol === null),
    classes: Object.fromEntries(classes.map((name) => [name, withLatency(counts.classes[name], only('kind', name))])) as Record<ClassName, Figures>,
    keys: Object.fromEntries(keys.map((name) => [name, withLatency(counts.keys[name], only('key', name))])) as Record<KeyName, Figures>,
    protocols: Object.fromEntries(protocols.map((name) => [name, withLatency(counts.protocols[name], only('protocol', protocolLetter[name]))])) as Record<Protocol, Figures>,
    pairs: counts.pairs,
    committed_per_s: Math.round(committed / Math.max(1, window.toS - window.fromS)),
  };
}

/** The gateway's admission counters, summed over every process of the mesh: `class:<name>` and `key:<name>` by outcome. */
async function readGatewayCounters(gatewayUrl: string): Promise<Record<string, Record<string, number>>> {
  const counters: Record<string, Record<string, number>> = {};
  try {
    const text = await (await fetch(`${gatewayUrl}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    for (const match of text.matchAll(/^mesh_edge_(class|key)_events_total\{([^}]*)\} (\S+)/gm)) {
      const [, kind, labelText, value] = match;
      const labels = Object.fromEntries([...labelText!.matchAll(/(\w+)="([^"]*)"/g)].map(([, name, text]) => [name, text]));
      const name = labels[kind!];
      if (name !== undefined && labels.outcome !== undefined) (counters[`${kind}:${name}`] ??= {})[labels.outcome] = Number(value);
    }
  } catch (error) {
    console.error(`edge bench: could not read the gateway's counters: ${(error as Error).message}`);
  }
  return counters;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

export function round(value: number | null | undefined): number | null {
  return value === null || value === undefined ? null : Math.round(value * 10) / 10;
}
