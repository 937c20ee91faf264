import { parseMeshBenchArguments, USAGE, type MeshBenchSettings } from './arguments.js';
import { measureDatabaseCeiling, type DatabaseCeiling } from './measureDatabaseCeiling.js';
import { measureMeshWindow, type MeshWindow } from './measureMeshWindow.js';
import { PeakRssSampler } from './PeakRssSampler.js';
import { cpuSecondsOf, LOAD_GENERATOR, ownCpuSeconds, postgresCpuSecondsOf } from './processCpu.js';
import { describeResult, describeSecond, resultJson } from './report.js';
import { printServiceProfiles, withProfiling } from './serviceProfiles.js';
import { startSeededMesh, type SeededMesh } from './startSeededMesh.js';
import { compareTracing } from './tracingOverhead.js';
import { runBenchmark } from '../runBenchmark.js';

const USERS = 1000;
const PRODUCTS = 500;
const CEILING_WARMUP_S = 1;
const FALLBACK_CEILING_BATCH = 500;

/** Settings of the services for this benchmark, unless --set says otherwise. */
const BENCH_SERVICE_ENV: Record<string, string> = {};

/**
 * The whole mesh (five processes) at its sustained rate against the ceiling of its sink's database
 * alone, side by side in one run: committed events/s, accept-to-commit latency, peak RSS, and the ratio.
 */
export function runMeshBenchmark(args: string[]): Promise<void> {
  return runBenchmark('mesh', USAGE, parseMeshBenchArguments, args, async (settings: MeshBenchSettings, stop: AbortSignal) => {
    if (settings.tracing) {
      await compareTracing(settings, (extraEnv) => measureMesh({ ...settings, env: { ...settings.env, ...extraEnv } }, stop), stop);
      return;
    }
    const { mesh, peakRssMb } = await measureMesh(settings, stop);
    if (stop.aborted) throw new Error('stopped');
    const batchSize = settings.ceilingBatch ?? Math.round(mesh.eventsPerCommit ?? FALLBACK_CEILING_BATCH);
    console.error(`database ceiling: commitEvents alone, one client, batches of ${batchSize}, ${settings.ceilingDurationS} s`);
    const ceiling: DatabaseCeiling = await measureDatabaseCeiling({
      batchSize, durationS: settings.ceilingDurationS, warmupS: CEILING_WARMUP_S, users: USERS, products: PRODUCTS, signal: stop,
    });
    const result = { mesh, ceiling, peakRssMb, settings: describeSettings(settings) };
    console.log(describeResult(result));
    if (settings.profileDirectory) await printServiceProfiles(settings.profileDirectory);
    if (settings.json) console.log(resultJson(result));
  });
}

async function measureMesh(settings: MeshBenchSettings, signal: AbortSignal): Promise<{ mesh: MeshWindow; peakRssMb: Record<string, number> }> {
  console.error(`mesh: starting five services on a fresh database and key prefix, seeding ${USERS} users and ${PRODUCTS} products`);
  const seeded = await startSeededMesh({
    users: USERS,
    products: PRODUCTS,
    env: { ...BENCH_SERVICE_ENV, ...settings.env },
    serviceEnv: withProfiling(settings.serviceEnv, settings.profileDirectory),
    onLine: (service, line) => { if (!line.startsWith(`${service} listening on`)) console.error(`[${service}] ${line}`); },
  });
  const rss = new PeakRssSampler(seeded.mesh.services);
  try {
    console.error(`mesh: offering ${settings.rate} events/s in batches of ${settings.batch} for ${settings.durationS} s (the first ${settings.warmupS} s are warm-up)`);
    const mesh = await measureMeshWindow({
      gatewayUrl: seeded.mesh.gatewayUrl,
      pool: seeded.pool,
      rate: settings.rate,
      durationS: settings.durationS,
      warmupS: settings.warmupS,
      batch: settings.batch,
      concurrency: settings.concurrency,
      users: USERS,
      products: PRODUCTS,
      signal,
      cpuSeconds: () => meshCpuSeconds(seeded),
      onSecond: (second, committedPerS) => console.error(describeSecond(second, committedPerS)),
    });
    return { mesh, peakRssMb: rss.peaksMb() };
  } finally {
    rss.stop();
    await seeded.dispose();
  }
}

/**
 * CPU seconds so far of each service, of the mesh database's PostgreSQL backends, of the Redis server
 * (when it runs here; it serves other clients too, so on a shared machine it counts their work) and of
 * this process (the load generator).
 */
function meshCpuSeconds(seeded: SeededMesh): Record<string, number> {
  const seconds: Record<string, number> = {};
  for (const [name, service] of Object.entries(seeded.mesh.services)) seconds[name] = (service.pid && cpuSecondsOf(service.pid)) || 0;
  seconds.postgres = postgresCpuSecondsOf(seeded.databaseName);
  if (seeded.redisPid !== undefined) seconds.redis = cpuSecondsOf(seeded.redisPid) ?? 0;
  seconds[LOAD_GENERATOR] = ownCpuSeconds();
  return seconds;
}

function describeSettings(settings: MeshBenchSettings): Record<string, unknown> {
  return {
    rate: settings.rate,
    batch: settings.batch,
    duration_s: settings.durationS,
    warmup_s: settings.warmupS,
    env: { ...BENCH_SERVICE_ENV, ...settings.env },
    service_env: settings.serviceEnv,
  };
}
