import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MeshPressureReport } from '../../gateway/MeshPressure.js';
import type { HopSnapshot } from '../../lib/telemetry/HopPressure.js';
import { OpenLoad } from '../chaos/openLoad.js';
import { startMeshUnderTest } from '../helpers/meshHarness.js';

const hops = ['gateway', 'source', 'enrichment', 'join', 'sink'];

async function pressure(gatewayUrl: string): Promise<MeshPressureReport> {
  return (await fetch(`${gatewayUrl}/v1/pressure`)).json() as Promise<MeshPressureReport>;
}

/** Each hop's share of its time in one state, 0..1, as /v1/pressure reports it. */
function shares(report: MeshPressureReport, state: 'busy' | 'backpressured' | 'idle'): Record<string, number> {
  return Object.fromEntries(report.hops.map((hop) => [hop.name, hop.up ? (hop as HopSnapshot)[`${state}_ms_per_second`] / 1000 : Number.NaN]));
}

/** Polls the pressure report until `holds`, or fails with the last one's time shares. */
async function until(gatewayUrl: string, what: string, timeoutMs: number, holds: (report: MeshPressureReport) => boolean): Promise<MeshPressureReport> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const report = await pressure(gatewayUrl);
    if (holds(report)) return report;
    if (Date.now() > deadline) {
      const seen = { busy: shares(report, 'busy'), backpressured: shares(report, 'backpressured'), idle: shares(report, 'idle'), bottleneck: report.bottleneck };
      throw new Error(`${what} within ${timeoutMs} ms; last seen ${JSON.stringify(seen)}`);
    }
    await sleep(500);
  }
}

async function putFaults(url: string, faults: Record<string, number>): Promise<void> {
  const response = await fetch(`${url}/v1/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });
  assert.equal(response.status, 200, await response.text());
}

test('busy, back-pressured and idle as Flink means them, and the bottleneck named: idle at light load, the slowed sink busy behind back-pressured hops, enrichment busy on its slow Redis', { timeout: 150_000 }, async (t) => {
  // Each phase has its own deadline, together well inside the test's, so a phase that never comes names itself.
  const startedAt = Date.now();
  const elapsed = (): string => `${((Date.now() - startedAt) / 1000).toFixed(1)} s in`;
  // Small links and intake, so that a slowed hop backs the mesh up within seconds.
  const run = await startMeshUnderTest({ env: { FAULT_SWITCHES: 'on', LINK_CAPACITY: '400', MAX_BATCH_EVENTS: '100', INTAKE_MAX_LENGTH: '2000', STAGE_CONCURRENCY: '4' } });
  const gatewayUrl = run.mesh.gatewayUrl;
  const runId = `states-${randomBytes(4).toString('hex')}`;
  // 20 events every 40 ms: 500 events/s, a small fraction of what the mesh carries even on a busy machine.
  const light = new OpenLoad(gatewayUrl, `${runId}-light`, { batch: 20, intervalMs: 40 }).start();
  let heavy: OpenLoad | undefined;
  t.after(async () => {
    await putFaults(gatewayUrl, { slow_sink_ms: 0, redis_latency_ms: 0 }).catch(() => undefined);
    await light.stop();
    await heavy?.stop();
    await run.dispose();
  });

  // At light load every hop mostly waits for input; nothing is back-pressured, so nothing is a bottleneck.
  await sleep(6_000);
  const calm = await until(gatewayUrl, 'every hop mostly idle at light load', 15_000, (report) => hops.every((name) => shares(report, 'idle')[name]! > 0.6));
  t.diagnostic(`${elapsed()}, light load, idle: ${JSON.stringify(shares(calm, 'idle'))}`);
  assert.equal(calm.bottleneck, null);
  for (const name of hops) {
    const hop = calm.hops.find((candidate) => candidate.name === name) as HopSnapshot;
    const total = hop.busy_ms_per_second + hop.backpressured_ms_per_second + hop.idle_ms_per_second;
    assert.ok(Math.abs(total - 1000) < 60, `${name}: busy + back-pressured + idle = ${total} ms/s`);
    assert.ok(hop.event_time_lag_ms !== null && hop.event_time_lag_ms < 5_000, `${name}'s event-time lag at light load: ${hop.event_time_lag_ms} ms`);
  }

  // 1,250 events/s against a sink that takes a second per batch (at most 400 events/s): the sink is the bottleneck.
  heavy = new OpenLoad(gatewayUrl, `${runId}-heavy`, { batch: 50, intervalMs: 40 }).start();
  await putFaults(gatewayUrl, { slow_sink_ms: 1_000 });
  const sinkSlow = await until(gatewayUrl, 'the slowed sink busy and every hop before it back-pressured', 40_000, (report) => {
    const busy = shares(report, 'busy');
    const backpressured = shares(report, 'backpressured');
    // The gateway is back-pressured from a refusal until credit for a request is back; between a grant and the
    // next request it has credit and nothing to send, which is not back-pressure: its share is the lowest.
    return busy.sink! > 0.7 && ['source', 'enrichment', 'join'].every((name) => backpressured[name]! > 0.5) && backpressured.gateway! > 0.35;
  });
  t.diagnostic(`${elapsed()}, sink slowed, busy: ${JSON.stringify(shares(sinkSlow, 'busy'))}, back-pressured: ${JSON.stringify(shares(sinkSlow, 'backpressured'))}`);
  assert.deepEqual(sinkSlow.bottleneck && { stage: sinkSlow.bottleneck.stage, reason: sinkSlow.bottleneck.reason }, { stage: 'sink', reason: 'commit-slow' });
  // The heavy load offers three times what the slowed sink commits: one of its own refusals is read. A probe of
  // ours sent each time its last was answered can fall in step with the sink: answered as credit comes back, the
  // next one takes that credit, and is admitted every time.
  const slowedAt = Date.now();
  while (!(heavy.lastRefusal && heavy.lastRefusal.answeredAt >= slowedAt) && Date.now() < slowedAt + 15_000) await sleep(50);
  const refused = heavy.lastRefusal;
  assert.ok(refused && refused.answeredAt >= slowedAt, 'the heavy load is refused while the sink is slow');
  assert.equal(refused.status, 429);
  assert.ok(refused.retryAfter, 'a Retry-After beside the bottleneck');
  assert.equal(refused.body.bottleneck?.stage, 'sink', `the 429 names the sink: ${JSON.stringify(refused.body)}`);
  assert.equal(refused.body.bottleneck?.reason, 'commit-slow');
  assert.equal(typeof refused.body.bottleneck?.replica, 'string');
  const sinkHop = sinkSlow.hops.find((hop) => hop.name === 'sink') as HopSnapshot;
  assert.ok(sinkHop.event_time_lag_ms! > 500, `the sink's output falls behind event time: ${sinkHop.event_time_lag_ms} ms`);

  // The sink restored and enrichment's Redis slowed (600 ms a call, at most ~670 events/s): enrichment is the bottleneck.
  await putFaults(gatewayUrl, { slow_sink_ms: 0 });
  await putFaults(`http://${run.mesh.adminAddress('enrichment')}`, { redis_latency_ms: 600 });
  const redisSlow = await until(gatewayUrl, 'enrichment busy, and the source and gateway back-pressured', 40_000, (report) => {
    const busy = shares(report, 'busy');
    const backpressured = shares(report, 'backpressured');
    return busy.enrichment! > 0.7 && backpressured.source! > 0.5 && backpressured.gateway! > 0.35 && backpressured.join! < 0.3 && backpressured.sink! < 0.3;
  });
  t.diagnostic(`${elapsed()}, Redis slowed, busy: ${JSON.stringify(shares(redisSlow, 'busy'))}, back-pressured: ${JSON.stringify(shares(redisSlow, 'backpressured'))}`);
  assert.deepEqual(redisSlow.bottleneck && { stage: redisSlow.bottleneck.stage, reason: redisSlow.bottleneck.reason }, { stage: 'enrichment', reason: 'dependency-slow' });
  const enrichment = redisSlow.hops.find((hop) => hop.name === 'enrichment') as HopSnapshot;
  assert.equal(redisSlow.bottleneck!.replica, enrichment.replica);
  assert.ok(enrichment.dependency_ms_per_second > 500, `enrichment waits on Redis ${enrichment.dependency_ms_per_second} ms/s`);
});
