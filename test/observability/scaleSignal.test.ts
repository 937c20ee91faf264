import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { runLoad } from '../../bench/loadgen/runLoad.js';
import { stageNames, type StageName } from '../../lib/service/stages.js';
import type { ServiceName } from '../../tools/launcher/Mesh.js';
import type { PrometheusServer } from '../../tools/prometheus/PrometheusServer.js';
import { startMeshPrometheus } from '../../tools/prometheus/meshPrometheus.js';
import { startMeshUnderTest, type MeshUnderTest } from '../helpers/meshHarness.js';

// Enrichment made the bottleneck: one Redis call at a time, each 100 ms slow, on batches of 100
// (about 1,000 events/s a replica, far below what the other hops carry on this machine).
const redisLatencyMs = 100;
const meshEnv = { MAX_BATCH_EVENTS: '100', INTAKE_MAX_LENGTH: '2000' };
// The shipped rules, scraped and evaluated every second over 10 s windows instead of 1 m, so that
// each phase settles in seconds; nothing else about them changes.
const prometheusOptions = { interval: '1s', ruleRange: '10s' };

interface Phase { run: MeshUnderTest; prometheus: PrometheusServer }

async function startPhase(enrichmentReplicas: number): Promise<Phase> {
  const run = await startMeshUnderTest({
    users: 1000,
    products: 500,
    env: meshEnv,
    serviceEnv: { enrichment: { STAGE_CONCURRENCY: '1', REDIS_LATENCY_MS: String(redisLatencyMs) } },
    replicas: { enrichment: enrichmentReplicas },
  });
  try {
    return { run, prometheus: await startMeshPrometheus(run.mesh, prometheusOptions) };
  } catch (error) {
    await run.dispose();
    throw error;
  }
}

/** Open-loop load well above what even the scaled mesh commits, until stopped (or 90 s). */
function offerLoad(gatewayUrl: string): { stop(): Promise<void> } {
  const stopping = new AbortController();
  const done = runLoad({ url: gatewayUrl, rate: 5_000, durationS: 90, batch: 100, concurrency: 16, requestTimeoutMs: 5_000, signal: stopping.signal });
  return {
    async stop() {
      stopping.abort();
      await done;
    },
  };
}

/** Fails at once, with what it last said, if a service of the mesh has died. */
function assertEveryServiceRuns({ mesh, recentLines }: MeshUnderTest): void {
  const processes = [...stageNames.flatMap((stage) => mesh.replicas[stage].map((replica) => replica.process)), mesh.services.gateway];
  for (const service of processes) {
    assert.ok(service.running, `${service.name} died:\n${recentLines(service.name as ServiceName).slice(-20).join('\n')}`);
  }
}

async function byStage(prometheus: PrometheusServer, expression: string): Promise<Partial<Record<StageName | 'gateway', number>>> {
  return Object.fromEntries((await prometheus.query(expression)).map((sample) => [sample.labels.stage, sample.value]));
}

async function waitFor<T>(what: string, phase: Phase, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    assertEveryServiceRuns(phase.run);
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what} within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await sleep(500);
  }
}

const committedPerSecond = async (prometheus: PrometheusServer) => (await byStage(prometheus, 'stage:mesh_stage_events_out:rate1m{stage="sink"}')).sink ?? 0;

test('with enrichment the bottleneck, the scale signal asks for more enrichment replicas and no more of any other stage; run with them the mesh commits 1.6 times as much, and with the load gone it asks for fewer', { timeout: 150_000 }, async (t) => {
  const phases: Phase[] = [];
  let load: ReturnType<typeof offerLoad> | undefined;
  t.after(async () => {
    await load?.stop();
    for (const { run, prometheus } of phases) {
      await prometheus.stop();
      await run.dispose();
    }
  });

  // One enrichment replica, the mesh saturated.
  const one = await startPhase(1);
  phases.push(one);
  const targets = await waitFor('every service scraped', one, () => one.prometheus.targets(), (all) => all.length === 5 && all.every((target) => target.health === 'up'), 10_000);
  assert.deepEqual(targets.map((target) => target.job).sort(), ['enrichment', 'gateway', 'join', 'sink', 'source']);
  load = offerLoad(one.run.mesh.gatewayUrl);
  const named = async () => ({ busy: await byStage(one.prometheus, 'stage:mesh_stage_busy:ratio_avg_rate1m'), bottleneck: Object.keys(await byStage(one.prometheus, 'stage:mesh_stage_bottleneck:bool == 1')) });
  await waitFor('enrichment busy over a whole window and named the bottleneck', one, named, ({ busy, bottleneck }) => (busy.enrichment ?? 0) > 0.9 && bottleneck.join() === 'enrichment', 40_000);
  // The scaling rules are a group of their own, evaluated after the pressure rules they read: up to an interval later.
  await waitFor('the scale signal asking for more enrichment replicas', one, () => byStage(one.prometheus, 'stage:mesh_stage_desired_replicas:count'), (desired) => (desired.enrichment ?? 0) > 1, 10_000);
  const asked: Array<Partial<Record<string, number>>> = [];
  for (let sample = 0; sample < 3; sample += 1) {
    const desired = await byStage(one.prometheus, 'stage:mesh_stage_desired_replicas:count');
    const why = JSON.stringify({ desired, ...(await named()), backpressured: await byStage(one.prometheus, 'stage:mesh_stage_backpressured:ratio_max_rate1m'), scaleOut: await byStage(one.prometheus, 'stage:mesh_stage_scale_out:bool') });
    assert.ok((desired.enrichment ?? 0) > 1, `more enrichment replicas asked for: ${why}`);
    for (const stage of ['gateway', 'source', 'join', 'sink']) assert.equal(desired[stage as StageName], 1, `${stage} asks for no more than the one it has: ${why}`);
    asked.push(desired);
    await sleep(1_000);
  }
  const enrichmentReplicas = asked.at(-1)!.enrichment!;
  const committedWithOne = await committedPerSecond(one.prometheus);
  await load.stop();
  load = undefined;
  await one.prometheus.stop();
  await one.run.dispose();
  phases.pop();

  // Run again with the replicas asked for, under the same load.
  const scaled = await startPhase(enrichmentReplicas);
  phases.push(scaled);
  load = offerLoad(scaled.run.mesh.gatewayUrl);
  await waitFor('enrichment busy over a whole window with its replicas', scaled, () => byStage(scaled.prometheus, 'stage:mesh_stage_busy:ratio_avg_rate1m'), (busy) => (busy.enrichment ?? 0) > 0.9, 30_000);
  await sleep(2_000);
  const committedScaled = await committedPerSecond(scaled.prometheus);
  t.diagnostic(`committed ${committedWithOne.toFixed(0)} events/s with 1 enrichment replica, ${committedScaled.toFixed(0)} with ${enrichmentReplicas}`);
  assert.ok(committedScaled >= 1.6 * committedWithOne, `${committedScaled.toFixed(0)} events/s committed with ${enrichmentReplicas} enrichment replicas, ${committedWithOne.toFixed(0)} with 1`);

  // The load gone: fewer enrichment replicas than run now.
  await load.stop();
  load = undefined;
  const quiet = await waitFor('fewer enrichment replicas asked for once the load is gone', scaled, () => byStage(scaled.prometheus, 'stage:mesh_stage_desired_replicas:count'), (desired) => (desired.enrichment ?? Infinity) < enrichmentReplicas, 30_000);
  assert.equal(quiet.enrichment, 1);
});
