import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MeshMode } from '../../lib/stage/meshMode.js';
import { createRedis, type Redis } from '../../lib/storage/redis.js';
import { redisUrl } from '../mesh/scratchKeyPrefix.js';
import { startSeededMesh } from '../mesh/startSeededMesh.js';
import { runLoad } from '../loadgen/runLoad.js';
import type { BurstSettings } from './arguments.js';
import { countDuplicated, countLost, latencyByCommitSecond, p99OfAcceptedBetween } from './outcome.js';
import { SecondRecorder, type SecondSample } from './SecondRecorder.js';

export interface ModeResult {
  mode: MeshMode;
  accepted: number;
  rejected_429: number;
  committed: number;
  lost: number;
  duplicated: number;
  /** Services that died during the run (nothing restarts them). */
  crashed: string[];
  peak_rss_mb: number;
  /** Peak minus the RSS just before the burst, the largest of the services. */
  rss_growth_mb: number;
  peak_rss_by_service: Record<string, number>;
  p99_ms_during_burst: number | null;
  p99_ms_after_burst: number | null;
  /** Seconds from the end of the load until everything accepted was committed; null if it never was. */
  drain_s: number | null;
  peak_redis_mb: number | null;
  seconds: SecondSample[];
}

const USERS = 1000;
const PRODUCTS = 500;

/** One mode through the whole schedule: steady, the burst, steady again, then the drain. */
export async function measureMode(mode: MeshMode, settings: BurstSettings, signal: AbortSignal): Promise<ModeResult> {
  const seeded = await startSeededMesh({
    users: USERS,
    products: PRODUCTS,
    env: { MESH_MODE: mode, NODE_OPTIONS: [process.env.NODE_OPTIONS, `--max-old-space-size=${settings.heapMb}`].filter(Boolean).join(' ') },
    serviceEnv: { sink: { STAGE_CONCURRENCY: String(settings.sinkConcurrency), SINK_DELAY_MS: String(settings.sinkDelayMs) } },
  });
  const redis: Redis = createRedis(redisUrl, { name: 'burst-bench' });
  const idsFile = path.join(tmpdir(), `burst-${mode}-${randomBytes(4).toString('hex')}.ids`);
  try {
    const durationS = settings.beforeS + settings.burstS + settings.afterS;
    const startEpochMs = Date.now();
    const recorder = new SecondRecorder(seeded.mesh, seeded.pool, redis, performance.now(), (sample) => console.error(progressLine(mode, sample, durationS)));
    const load = await runLoad({
      url: seeded.mesh.gatewayUrl,
      rate: settings.steadyRate,
      durationS,
      burst: { rate: settings.steadyRate * settings.factor, startS: settings.beforeS, lengthS: settings.burstS },
      batch: settings.batch,
      concurrency: 128,
      users: USERS,
      products: PRODUCTS,
      idsFile,
      signal,
      onSecond: (second) => recorder.load(second),
    });
    const loadEndedMs = performance.now();
    let drainS: number | null = null;
    while (performance.now() - loadEndedMs < settings.drainS * 1000 && !signal.aborted) {
      if ((await committedTotal(seeded.pool)) >= load.accepted) { drainS = round((performance.now() - loadEndedMs) / 1000); break; }
      await sleep(1_000);
    }
    recorder.stop();
    const crashed = Object.entries(seeded.mesh.services).filter(([, service]) => !service.running).map(([name]) => name);
    // The end of the run: what is committed now is all there will be, so every count below is of one moment.
    await seeded.mesh.stop();

    const latency = new Map((await latencyByCommitSecond(seeded.pool, startEpochMs)).map((row) => [row.t, row]));
    for (const sample of recorder.samples) Object.assign(sample, { p50_ms: round(latency.get(sample.t)?.p50_ms), p99_ms: round(latency.get(sample.t)?.p99_ms) });
    const burstEndS = settings.beforeS + settings.burstS;
    const peaks = peakRss(recorder.samples);
    const before = recorder.samples.filter((sample) => sample.t < settings.beforeS).at(-1)?.rss_mb ?? {};
    const redisPeaks = recorder.samples.map((sample) => sample.redis_mb).filter((mb): mb is number => mb !== null);
    return {
      mode,
      accepted: load.accepted,
      rejected_429: load.rejected,
      committed: await committedTotal(seeded.pool),
      lost: await countLost(seeded.pool, idsFile),
      duplicated: await countDuplicated(seeded.pool),
      crashed,
      peak_rss_mb: Math.max(...Object.values(peaks)),
      rss_growth_mb: round(Math.max(...Object.entries(peaks).map(([name, peak]) => peak - (before[name] ?? peak))))!,
      peak_rss_by_service: peaks,
      p99_ms_during_burst: round(await p99OfAcceptedBetween(seeded.pool, startEpochMs, settings.beforeS, burstEndS)),
      p99_ms_after_burst: round(await p99OfAcceptedBetween(seeded.pool, startEpochMs, burstEndS, durationS)),
      drain_s: drainS,
      peak_redis_mb: redisPeaks.length > 0 ? Math.max(...redisPeaks) : null,
      seconds: recorder.samples,
    };
  } finally {
    redis.disconnect();
    await rm(idsFile, { force: true });
    await seeded.dispose();
  }
}

async function committedTotal(pool: import('pg').Pool): Promise<number> {
  const { rows } = await pool.query<{ total: number }>('SELECT count(*)::float8 AS total FROM events');
  return rows[0]!.total;
}

/** Each service's largest RSS over the samples. */
export function peakRss(samples: SecondSample[]): Record<string, number> {
  const peaks: Record<string, number> = {};
  for (const sample of samples) for (const [name, mb] of Object.entries(sample.rss_mb)) if (mb !== null) peaks[name] = Math.max(peaks[name] ?? 0, mb);
  return peaks;
}

function progressLine(mode: MeshMode, sample: SecondSample, durationS: number): string {
  const rss = Math.max(0, ...Object.values(sample.rss_mb).map((mb) => mb ?? 0));
  const dead = Object.entries(sample.rss_mb).filter(([, mb]) => mb === null).map(([name]) => name);
  const queued = sample.hops ? Object.values(sample.hops).reduce((sum, hop) => sum + hop.queued, 0) : '?';
  return `[${mode}] t=${sample.t}/${durationS}s offered ${sample.offered} accepted ${sample.accepted} 429 ${sample.rejected_429} committed ${sample.committed}` +
    ` queued ${queued} rss max ${rss.toFixed(0)} MB${dead.length > 0 ? ` DEAD: ${dead.join(', ')}` : ''}`;
}

function round(value: number | null | undefined): number | null {
  return value === null || value === undefined ? null : Math.round(value * 10) / 10;
}
