import { parseArgs } from 'node:util';
import type { Routing } from '../../lib/flow/LinkRouter.js';
import { measureMeshWindow } from '../mesh/measureMeshWindow.js';
import { startSeededMesh } from '../mesh/startSeededMesh.js';
import { positive, positiveInteger } from '../numberArguments.js';
import { runBenchmark } from '../runBenchmark.js';

const USAGE = `usage: npm run bench -- replicas [--json] [--duration S] [--latency-ms MS]
  Enrichment is made the bottleneck (one batch at a time, at most 100 events, every Redis call
  --latency-ms longer, default 10); then, in one run:
  - two replicas, one slowed 4x by its fault switch (redis_latency_ms x4), routed by credit, then round-robin;
  - 1, 2 and 3 replicas, none slowed, routed by credit.
  --duration S   seconds of load per measurement, the first 5 left out (default 25)
  --json         print the results as one JSON object, the last line on stdout`;

const USERS = 1000;
const PRODUCTS = 500;
const WARMUP_S = 5;

interface Setup { replicas: number; routing: Routing; slowReplica: boolean }

interface ReplicasSettings { json: boolean; durationS: number; latencyMs: number }

function parseReplicasArguments(args: string[]): ReplicasSettings {
  const { values } = parseArgs({ args, strict: true, options: {
    json: { type: 'boolean', default: false },
    duration: { type: 'string', default: '25' },
    'latency-ms': { type: 'string', default: '10' },
  } });
  const settings = { json: values.json, durationS: positive(values.duration, '--duration'), latencyMs: positiveInteger(values['latency-ms'], '--latency-ms') };
  if (settings.durationS <= WARMUP_S + 1) throw new Error(`--duration must be more than ${WARMUP_S + 1}`);
  return settings;
}

/** Credit-based routing against round-robin over replicas of the bottleneck stage, side by side in one run. */
export function runReplicasBenchmark(args: string[]): Promise<void> {
  return runBenchmark('replicas', USAGE, parseReplicasArguments, args, async (settings: ReplicasSettings, stop: AbortSignal) => {
    const measure = (setup: Setup) => measureSetup(setup, settings, stop);
    const credit = await measure({ replicas: 2, routing: 'credit', slowReplica: true });
    const roundRobin = await measure({ replicas: 2, routing: 'round-robin', slowReplica: true });
    const scaling: Record<string, number> = {};
    for (const replicas of [1, 2, 3]) scaling[String(replicas)] = await measure({ replicas, routing: 'credit', slowReplica: false });
    const result = {
      credit_events_per_s: credit,
      roundrobin_events_per_s: roundRobin,
      ratio: Math.round((credit / roundRobin) * 1000) / 1000,
      events_per_s_by_replicas: scaling,
      enrichment: { concurrency: 1, max_batch_events: 100, redis_latency_ms: settings.latencyMs, slow_replica_redis_latency_ms: settings.latencyMs * 4 },
    };
    console.log(`two replicas, one slowed 4x: credit ${credit} events/s, round-robin ${roundRobin} events/s, ratio ${result.ratio}`);
    console.log(`replicas of enrichment: ${Object.entries(scaling).map(([replicas, rate]) => `${replicas}: ${rate} events/s`).join(', ')}`);
    if (settings.json) console.log(JSON.stringify(result));
  });
}

async function measureSetup(setup: Setup, settings: { durationS: number; latencyMs: number }, signal: AbortSignal): Promise<number> {
  console.error(`replicas bench: ${setup.replicas} enrichment replica(s), ${setup.routing}${setup.slowReplica ? ', the second slowed 4x' : ''}`);
  const seeded = await startSeededMesh({
    users: USERS,
    products: PRODUCTS,
    env: { ROUTING: setup.routing, MAX_BATCH_EVENTS: '100', FAULT_SWITCHES: 'on' },
    serviceEnv: { enrichment: { STAGE_CONCURRENCY: '1', REDIS_LATENCY_MS: String(settings.latencyMs) } },
    replicas: { enrichment: setup.replicas },
  });
  try {
    if (setup.slowReplica) {
      const slow = seeded.mesh.replicas.enrichment[1]!;
      const response = await fetch(`http://127.0.0.1:${slow.adminPort}/v1/faults`, { method: 'PUT', body: JSON.stringify({ redis_latency_ms: settings.latencyMs * 4 }) });
      if (!response.ok) throw new Error(`the slow replica's fault switch answered ${response.status}`);
    }
    const window = await measureMeshWindow({
      gatewayUrl: seeded.mesh.gatewayUrl, pool: seeded.pool, rate: 30_000, durationS: settings.durationS, warmupS: WARMUP_S,
      batch: 500, concurrency: 64, users: USERS, products: PRODUCTS, signal,
      cpuSeconds: () => ({}),
      onSecond: (second, committedPerS) => console.error(`  t=${second.t}s accepted ${second.accepted} committed/s ${committedPerS?.toFixed(0) ?? '?'}`),
    });
    return Math.round(window.committedPerS);
  } finally {
    await seeded.dispose();
  }
}
