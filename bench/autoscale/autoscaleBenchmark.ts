import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { StageName } from '../../lib/service/stages.js';
import type { PrometheusServer } from '../../tools/prometheus/PrometheusServer.js';
import { startMeshPrometheus } from '../../tools/prometheus/meshPrometheus.js';
import { measureMeshWindow } from '../mesh/measureMeshWindow.js';
import { startSeededMesh, type SeededMesh } from '../mesh/startSeededMesh.js';
import { positiveInteger } from '../numberArguments.js';
import { runBenchmark } from '../runBenchmark.js';

const USAGE = `usage: npm run bench -- autoscale [--json] [--interval-s S] [--range-s S] [--latency-ms MS]
  The scale signal (deploy/prometheus/rules) on a real mesh scraped by Debian's Prometheus, with
  the shipped configuration and rules. Enrichment is made the bottleneck (one batch of at most 100
  events at a time, every Redis call --latency-ms longer, default 100); then:
  - one enrichment replica under load: what the signal asks of each stage, and what is committed;
  - as many enrichment replicas as it asked for, the same load: what is committed;
  - the load gone: how long until it asks for fewer.
  --interval-s S   scrape and rule evaluation interval (default 5, as shipped)
  --range-s S      the rules' range windows (default 60, as shipped; a shorter one is put in place of
                   every [1m] of the rule files)
  --json           print the results as one JSON object, the last line on stdout`;

const USERS = 1000;
const PRODUCTS = 500;

interface AutoscaleSettings { json: boolean; intervalS: number; rangeS: number; latencyMs: number }

function parseAutoscaleArguments(args: string[]): AutoscaleSettings {
  const { values } = parseArgs({ args, strict: true, options: {
    json: { type: 'boolean', default: false },
    'interval-s': { type: 'string', default: '5' },
    'range-s': { type: 'string', default: '60' },
    'latency-ms': { type: 'string', default: '100' },
  } });
  const settings = {
    json: values.json,
    intervalS: positiveInteger(values['interval-s'], '--interval-s'),
    rangeS: positiveInteger(values['range-s'], '--range-s'),
    latencyMs: positiveInteger(values['latency-ms'], '--latency-ms'),
  };
  if (settings.rangeS < 2 * settings.intervalS) throw new Error('--range-s must hold at least two scrapes (2 × --interval-s)');
  return settings;
}

type ByStage = Partial<Record<StageName | 'gateway', number>>;

async function byStage(prometheus: PrometheusServer, expression: string): Promise<ByStage> {
  return Object.fromEntries((await prometheus.query(expression)).map((sample) => [sample.labels.stage, sample.value]));
}

interface Phase { seeded: SeededMesh; prometheus: PrometheusServer }

interface Saturated {
  desired: ByStage;
  bottleneck: string[];
  /** Committed a second over the rules' last window, as Prometheus saw it, and as rows in Postgres over the load's steady part. */
  committedPerS: number;
  rowsPerS: number;
}

/** Whether the scale signal asks for the replicas that lift the bottleneck, and for fewer once the load is gone. */
export function runAutoscaleBenchmark(args: string[]): Promise<void> {
  return runBenchmark('autoscale', USAGE, parseAutoscaleArguments, args, async (settings: AutoscaleSettings, stop: AbortSignal) => {
    const one = await startPhase(1, settings);
    let withOne: Saturated;
    try {
      withOne = await saturate(one, settings, stop);
    } finally {
      await dispose(one);
    }
    const asked = withOne.desired.enrichment ?? 1;
    console.error(`autoscale bench: with 1 enrichment replica the signal asks for ${JSON.stringify(withOne.desired)}; bottleneck ${withOne.bottleneck.join(',') || 'none'}`);

    const scaled = await startPhase(asked, settings);
    let withAsked: Saturated;
    let secondsToFewer: number | undefined;
    let quietDesired: ByStage;
    try {
      withAsked = await saturate(scaled, settings, stop);
      const quietSince = Date.now();
      const deadline = quietSince + 3 * settings.rangeS * 1000;
      for (;;) {
        quietDesired = await byStage(scaled.prometheus, 'stage:mesh_stage_desired_replicas:count');
        if ((quietDesired.enrichment ?? Infinity) < asked) { secondsToFewer = (Date.now() - quietSince) / 1000; break; }
        if (Date.now() > deadline || stop.aborted) break;
        await sleep(settings.intervalS * 1000, undefined, { signal: stop }).catch(() => undefined);
      }
    } finally {
      await dispose(scaled);
    }

    const others = (desired: ByStage) => Object.entries(desired).filter(([stage]) => stage !== 'enrichment').every(([, value]) => value === 1);
    const result = {
      interval_s: settings.intervalS,
      range_s: settings.rangeS,
      enrichment: { concurrency: 1, max_batch_events: 100, redis_latency_ms: settings.latencyMs },
      one_replica: withOne,
      asked_enrichment_replicas: asked,
      no_more_of_any_other_stage: others(withOne.desired),
      with_asked_replicas: withAsked,
      committed_ratio: Math.round((withAsked.committedPerS / withOne.committedPerS) * 100) / 100,
      rows_ratio: Math.round((withAsked.rowsPerS / withOne.rowsPerS) * 100) / 100,
      load_gone: { desired: quietDesired!, seconds_to_fewer_enrichment: secondsToFewer ?? null },
    };
    console.log(`1 enrichment replica: asked ${JSON.stringify(withOne.desired)} (no more of any other stage: ${result.no_more_of_any_other_stage}), committed ${withOne.committedPerS.toFixed(0)}/s (rows ${withOne.rowsPerS.toFixed(0)}/s)`);
    console.log(`${asked} enrichment replicas: committed ${withAsked.committedPerS.toFixed(0)}/s (rows ${withAsked.rowsPerS.toFixed(0)}/s), ${result.committed_ratio}x (rows ${result.rows_ratio}x)`);
    console.log(`load gone: asks for ${quietDesired!.enrichment} enrichment replica(s) after ${secondsToFewer?.toFixed(0) ?? 'never (within 3 windows)'} s`);
    if (settings.json) console.log(JSON.stringify(result));
  });
}

async function startPhase(enrichmentReplicas: number, settings: AutoscaleSettings): Promise<Phase> {
  console.error(`autoscale bench: ${enrichmentReplicas} enrichment replica(s), scraped every ${settings.intervalS} s, windows of ${settings.rangeS} s`);
  const seeded = await startSeededMesh({
    users: USERS,
    products: PRODUCTS,
    env: { MAX_BATCH_EVENTS: '100', INTAKE_MAX_LENGTH: '2000' },
    serviceEnv: { enrichment: { STAGE_CONCURRENCY: '1', REDIS_LATENCY_MS: String(settings.latencyMs) } },
    replicas: { enrichment: enrichmentReplicas },
  });
  try {
    return { seeded, prometheus: await startMeshPrometheus(seeded.mesh, { interval: `${settings.intervalS}s`, ruleRange: `${settings.rangeS}s` }) };
  } catch (error) {
    await seeded.dispose();
    throw error;
  }
}

async function dispose({ seeded, prometheus }: Phase): Promise<void> {
  await prometheus.stop();
  await seeded.dispose();
}

/** Saturates the mesh for a whole window and more, and reads, while it still is, what the signal asks and what is committed. */
async function saturate({ seeded, prometheus }: Phase, settings: AutoscaleSettings, signal: AbortSignal): Promise<Saturated> {
  const warmupS = 5;
  const readAfterS = warmupS + settings.rangeS + 2 * settings.intervalS;
  const loaded = measureMeshWindow({
    gatewayUrl: seeded.mesh.gatewayUrl, pool: seeded.pool, rate: 10_000, durationS: readAfterS + settings.intervalS, warmupS,
    batch: 100, concurrency: 16, users: USERS, products: PRODUCTS, signal,
    cpuSeconds: () => ({}),
    onSecond: (second, committedPerS) => { if (second.t % 10 === 0) console.error(`  t=${second.t}s accepted ${second.accepted} committed/s ${committedPerS?.toFixed(0) ?? '?'}`); },
  });
  const read = (async () => {
    await sleep(readAfterS * 1000, undefined, { signal });
    return {
      desired: await byStage(prometheus, 'stage:mesh_stage_desired_replicas:count'),
      bottleneck: Object.keys(await byStage(prometheus, 'stage:mesh_stage_bottleneck:bool == 1')),
      committedPerS: (await byStage(prometheus, 'stage:mesh_stage_events_out:rate1m{stage="sink"}')).sink ?? 0,
    };
  })();
  const [window, figures] = await Promise.all([loaded, read]);
  return { ...figures, rowsPerS: window.committedPerS };
}
