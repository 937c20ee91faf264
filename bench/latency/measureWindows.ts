import { setTimeout as sleep } from 'node:timers/promises';
import { createRedis, type Redis } from '../../lib/storage/redis.js';
import type { Mesh } from '../../tools/launcher/Mesh.js';
import { peakRss } from '../burst/measureMode.js';
import { latencyByCommitSecond } from '../burst/outcome.js';
import { PhaseLog } from '../burst/PhaseLog.js';
import { SecondRecorder, type SecondSample } from '../burst/SecondRecorder.js';
import { runLoad } from '../loadgen/runLoad.js';
import { describeCommitWindow, snapshotCommitted } from '../mesh/committedEvents.js';
import { redisUrl } from '../mesh/scratchKeyPrefix.js';
import { startSeededMesh } from '../mesh/startSeededMesh.js';
import { SATURATION_WARMUP_S, type LatencySettings, type WindowMode } from './arguments.js';
import { measureSourceStop } from './measureSourceStop.js';
import { describePhase, recoverySeconds, round, type PhaseResult, type PhaseWindow } from './phaseFigures.js';

export interface ModeResult {
  mode: WindowMode;
  /** LATENCY_TARGET_MS every service was started with. */
  latency_target_ms: number;
  /** Events committed per second while offered far more than that (after the first seconds). */
  saturation_events_per_s: number;
  /** Time of one sink batch at saturation (the sink's concurrency times the time between its commits). */
  sink_batch_ms: number | null;
  /** The fault switch set during the slowdown (`slow_sink_ms` or `slow_sink_us_per_event`) and its value: the sink's batches at saturation's size take about --slowdown times as long. */
  slowdown_switch: Partial<Record<'slow_sink_ms' | 'slow_sink_us_per_event', number>>;
  phases: PhaseResult[];
  p99_ms_at_100: number | null;
  p99_ms_at_1000: number | null;
  /** Seconds from the start of the slowdown until p99 (per commit second) is under the target and stays there; null if it never is. */
  recovery_s_after_slowdown: number | null;
  /**
   * The same, under the bound the issue holds accepted work's p99 to under load (the target plus
   * 250 ms): the target is of queueing, and a p99 of accept-to-commit also holds the sink's own
   * batch and a request's spread (its last event commits events ÷ rate after its first).
   */
  recovery_s_under_p99_bound: number | null;
  /** Seconds from the end of the slowdown until p99 is under the target and stays there; null if it never is. */
  recovery_s_after_slowdown_ends: number | null;
  /** Milliseconds from a sink stall (its batches held 5 s) until the source stopped reading the intake; null if it did not within 2.5 s. */
  source_stop_ms_after_stall: number | null;
  /** Largest service's peak after the 100 % phase minus its RSS at the end of it. */
  rss_growth_mb: number | null;
  peak_rss_mb: number | null;
  crashed: string[];
  seconds: SecondSample[];
}

const USERS = 1000;
const PRODUCTS = 500;
const CONCURRENCY = 128;
/** The stall: load for this long, the sink's batches held STALL_BATCH_MS from its second second, the source watched for STALL_WATCH_MS. */
const STALL_LOAD_S = 5;
const STALL_BATCH_MS = 5_000;
const STALL_WATCH_MS = 2_500;

/** The load phases after the saturation one, each a share of the capacity; the slowdown and what follows are at 100 %. */
export const loadPhases = [
  { name: 'load_50', label: '50 %', share: 0.5 },
  { name: 'load_80', label: '80 %', share: 0.8 },
  { name: 'load_100', label: '100 %', share: 1 },
  { name: 'load_1000', label: '1000 %', share: 10 },
] as const;

/** One kind of windows, on a fresh seeded mesh: capacity, the four load phases, then the sink slowed and back. */
export async function measureWindows(mode: WindowMode, settings: LatencySettings, signal: AbortSignal): Promise<ModeResult> {
  const latencyTargetMs = mode === 'fixed' ? 0 : settings.targetMs;
  const seeded = await startSeededMesh({
    users: USERS,
    products: PRODUCTS,
    env: {
      LATENCY_TARGET_MS: String(latencyTargetMs),
      FAULT_SWITCHES: 'on',
      NODE_OPTIONS: [process.env.NODE_OPTIONS, `--max-old-space-size=${settings.heapMb}`].filter(Boolean).join(' '),
    },
    serviceEnv: { sink: { STAGE_CONCURRENCY: String(settings.sinkConcurrency), SINK_DELAY_MS: String(settings.sinkDelayMs) } },
  });
  const redis: Redis = createRedis(redisUrl, { name: 'latency-bench' });
  try {
    const { mesh, pool } = seeded;
    const timeline = new PhaseLog();
    const { startMs } = timeline;
    const startEpochMs = Date.now() - (performance.now() - startMs);
    const recorder = new SecondRecorder(mesh, pool, redis, startMs, (sample) => console.error(progressLine(mode, timeline.at(sample.t), sample)));
    const windows: PhaseWindow[] = [];
    let accepted = 0;

    /** Offers `rate` for `seconds` from the next whole second of the recorder's clock; `during` runs alongside. */
    const offer = async (rate: number, seconds: number, during?: (fromS: number) => Promise<unknown>) => {
      await sleep(Math.ceil(timeline.nowS()) * 1000 - timeline.nowS() * 1000);
      const fromS = Math.round(timeline.nowS());
      const [load] = await Promise.all([runLoad({
        url: mesh.gatewayUrl, rate, durationS: seconds, batch: settings.batch, concurrency: CONCURRENCY, users: USERS, products: PRODUCTS, signal,
        onSecond: (second) => recorder.load({ ...second, t: second.t + fromS }),
      }), during?.(fromS)]);
      accepted += load.accepted;
      return fromS;
    };
    const drain = async () => {
      const untilMs = performance.now() + settings.drainS * 1000;
      while (performance.now() < untilMs && !signal.aborted && (await snapshotCommitted(pool)).rows < accepted) await sleep(500);
    };

    // The capacity: far more offered than the sink commits; counted once the mesh has filled up.
    timeline.entering('saturation');
    let saturation = { perS: 0, batchMs: null as number | null, eventsPerBatch: null as number | null };
    const saturationFromS = await offer(settings.saturationRate, settings.saturationS, async () => {
      await sleep(SATURATION_WARMUP_S * 1000, undefined, { signal }).catch(() => undefined);
      const from = await snapshotCommitted(pool);
      await sleep((settings.saturationS - SATURATION_WARMUP_S) * 1000, undefined, { signal }).catch(() => undefined);
      const to = await snapshotCommitted(pool);
      const window = await describeCommitWindow(pool, from.at, to.at);
      const perS = window.seconds > 0 ? (to.rows - from.rows) / window.seconds : 0;
      saturation = { perS, batchMs: window.eventsPerCommit && perS > 0 ? (settings.sinkConcurrency * window.eventsPerCommit * 1000) / perS : null, eventsPerBatch: window.eventsPerCommit || null };
    });
    windows.push({ name: 'saturation', label: 'saturation', fromS: saturationFromS, toS: saturationFromS + settings.saturationS, rate: settings.saturationRate, share: null });
    if (saturation.perS <= 0) {
      recorder.stop();
      throw new Error(`${mode}: nothing was committed while measuring the capacity`);
    }
    const capacity = saturation.perS;
    // A batch takes SINK_DELAY_MS plus its database work; this makes one of saturation's size `slowdown` times as long.
    const batchMs = saturation.batchMs ?? settings.sinkDelayMs;
    const slowdown = slowdownSwitch(settings, batchMs, saturation.eventsPerBatch ?? settings.batch);
    console.error(`latency bench: ${mode}: capacity ${capacity.toFixed(0)} events/s, a sink batch ${batchMs.toFixed(1)} ms of ${saturation.eventsPerBatch ?? '?'} events; slowdown: ${JSON.stringify(slowdown)}`);

    for (const phase of loadPhases) {
      if (signal.aborted) break;
      timeline.entering('drain');
      await drain();
      timeline.entering(phase.label);
      const fromS = await offer(capacity * phase.share, settings.phaseS);
      windows.push({ name: phase.name, label: phase.label, fromS, toS: fromS + settings.phaseS, rate: capacity * phase.share, share: phase.share });
    }

    if (!signal.aborted) {
      timeline.entering('drain');
      await drain();
      timeline.entering('slow sink');
      const fromS = await offer(capacity, settings.slowS + settings.afterS, async () => {
        await setFaults(mesh, slowdown);
        await sleep(settings.slowS * 1000, undefined, { signal }).catch(() => undefined);
        timeline.entering('after');
        await setFaults(mesh, normalSink(settings));
      });
      windows.push({ name: 'slow_sink', label: 'slow sink', fromS, toS: fromS + settings.slowS, rate: capacity, share: 1 });
      windows.push({ name: 'after_slowdown', label: 'after', fromS: fromS + settings.slowS, toS: fromS + settings.slowS + settings.afterS, rate: capacity, share: 1 });
      timeline.entering('drain');
      await drain();
    }

    // The sink stalls (each batch held far longer than the watch) under load: how soon does the source stop reading?
    let sourceStopMs: number | null = null;
    if (!signal.aborted) {
      timeline.entering('stall');
      await offer(capacity, STALL_LOAD_S, async () => {
        await sleep(1_000, undefined, { signal }).catch(() => undefined);
        await setFaults(mesh, { slow_sink_ms: STALL_BATCH_MS });
        sourceStopMs = await measureSourceStop(mesh, performance.now(), STALL_WATCH_MS);
        await setFaults(mesh, normalSink(settings));
      });
      timeline.entering('drain');
      await drain();
    }
    // One more sample, so the last second of the run is in.
    await sleep(1_100);
    recorder.stop();
    const crashed = Object.entries(mesh.services).filter(([, service]) => !service.running).map(([name]) => name);
    const endTotal = await snapshotCommitted(pool);

    const latency = new Map((await latencyByCommitSecond(pool, startEpochMs)).map((row) => [row.t, row]));
    for (const sample of recorder.samples) Object.assign(sample, { p50_ms: round(latency.get(sample.t)?.p50_ms), p99_ms: round(latency.get(sample.t)?.p99_ms) });
    const phases: PhaseResult[] = [];
    for (const window of windows) phases.push(await describePhase(pool, startEpochMs, window, recorder.samples));
    const byName = (name: string) => phases.find((phase) => phase.name === name);
    const slow = windows.find((window) => window.name === 'slow_sink');
    const after = windows.find((window) => window.name === 'after_slowdown');
    const before1000 = windows.find((window) => window.name === 'load_1000');
    const baseline = before1000 ? recorder.samples.filter((sample) => sample.t < before1000.fromS).at(-1)?.rss_mb : undefined;
    const peaks = before1000 ? peakRss(recorder.samples.filter((sample) => sample.t >= before1000.fromS)) : {};
    const allPeaks = peakRss(recorder.samples);
    if (endTotal.rows < accepted) console.error(`latency bench: ${mode}: ${accepted - endTotal.rows} accepted events not committed by the end`);
    return {
      mode,
      latency_target_ms: latencyTargetMs,
      saturation_events_per_s: Math.round(capacity),
      sink_batch_ms: round(saturation.batchMs),
      slowdown_switch: slowdown,
      phases,
      p99_ms_at_100: byName('load_100')?.p99_ms ?? null,
      p99_ms_at_1000: byName('load_1000')?.p99_ms ?? null,
      source_stop_ms_after_stall: sourceStopMs,
      recovery_s_after_slowdown_ends: after ? recoverySeconds(recorder.samples, after.fromS, after.toS, settings.targetMs) : null,
      recovery_s_after_slowdown: slow && after ? recoverySeconds(recorder.samples, slow.fromS, after.toS, settings.targetMs) : null,
      recovery_s_under_p99_bound: slow && after ? recoverySeconds(recorder.samples, slow.fromS, after.toS, p99BoundMs(settings)) : null,
      rss_growth_mb: baseline && Object.keys(peaks).length > 0
        ? round(Math.max(...Object.entries(peaks).map(([name, peak]) => peak - (baseline[name] ?? peak))))
        : null,
      peak_rss_mb: Object.keys(allPeaks).length > 0 ? Math.max(...Object.values(allPeaks)) : null,
      crashed,
      seconds: recorder.samples,
    };
  } finally {
    redis.disconnect();
    await seeded.dispose();
  }
}

/** What the issue holds p99 accept-to-commit to at 100 % and 1000 % load: the target, plus 250 ms for work that is not queueing. */
export const p99BoundMs = (settings: LatencySettings): number => settings.targetMs + 250;

type SinkSwitches = ModeResult['slowdown_switch'];

/**
 * What slows the sink `--slowdown` times at saturation's batch size: per event (a database slowed
 * per row: a smaller batch is slowed less) or per batch (the same wait whatever the batch's size).
 */
function slowdownSwitch(settings: LatencySettings, batchMs: number, eventsPerBatch: number): SinkSwitches {
  const extraMs = (settings.slowdown - 1) * batchMs;
  return settings.slowPer === 'event'
    ? { slow_sink_us_per_event: Math.max(1, Math.round((extraMs * 1000) / eventsPerBatch)) }
    : { slow_sink_ms: Math.round(extraMs + settings.sinkDelayMs) };
}

const normalSink = (settings: LatencySettings): SinkSwitches => ({ slow_sink_ms: settings.sinkDelayMs, slow_sink_us_per_event: 0 });

/** The sink's fault switches, through the gateway (which sets them on every service). */
async function setFaults(mesh: Mesh, switches: SinkSwitches): Promise<void> {
  const response = await fetch(`${mesh.gatewayUrl}/v1/faults`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(switches), signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`PUT /v1/faults answered ${response.status}: ${await response.text()}`);
}

function progressLine(mode: WindowMode, phase: string, sample: SecondSample): string {
  const rss = Math.max(0, ...Object.values(sample.rss_mb).map((mb) => mb ?? 0));
  const dead = Object.entries(sample.rss_mb).filter(([, mb]) => mb === null).map(([name]) => name);
  const hops = sample.hops ? Object.values(sample.hops) : undefined;
  const inFlight = hops ? hops.reduce((sum, hop) => sum + hop.queued - (hop.intake ?? 0) + hop.in_flight, 0) : '?';
  const intake = hops ? hops.reduce((sum, hop) => sum + (hop.intake ?? 0), 0) : '?';
  return `[${mode}] ${phase} t=${sample.t}s offered ${sample.offered} accepted ${sample.accepted} 429 ${sample.rejected_429} committed ${sample.committed}` +
    ` in flight ${inFlight} intake ${intake} rss max ${rss.toFixed(0)} MB${dead.length > 0 ? ` DEAD: ${dead.join(', ')}` : ''}`;
}
