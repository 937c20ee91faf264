import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceName } from '../../tools/launcher/Mesh.js';
import { proxyToSharedPostgres, startChaosMesh, tearDown, type ChaosMesh } from './chaosMesh.js';
import { OpenLoad } from './openLoad.js';
import { acceptedRate, assertDrainedExactlyOnce, assertEdgeAnswers, describeProxy, difference, firstAcceptedAfter, round, type Diagnostics } from './outageChecks.js';
import { countIntake } from '../../services/source/Intake.js';

const outageMs = 5_000;
const resetMs = 2_000; // BREAKER_POSTGRES_RESET_MS (the default)
const intakeBound = 1_500;
const meshEnv = {
  // Fixed windows: the intake filling to its bound while the sink holds is part of what this checks.
  LATENCY_TARGET_MS: '0',
  LINK_CAPACITY: '500',
  MAX_BATCH_EVENTS: '100',
  INTAKE_MAX_LENGTH: String(intakeBound),
  BREAKER_POSTGRES_RESET_MS: String(resetMs),
};
// The join looks products up again every 200 ms, so it depends on Postgres all the time, not only for its first batches.
const joinEnv = { PRODUCT_CACHE_TTL_MS: '200' };

/** The intake's length in events, sampled every 100 ms until stopped. */
function sampleIntake(run: ChaosMesh): { samples: Array<{ at: number; length: number }>; stop(): Promise<void> } {
  const samples: Array<{ at: number; length: number }> = [];
  let stopping = false;
  const sampling = (async () => {
    while (!stopping) {
      samples.push({ at: Date.now(), length: (await countIntake(run.redis, run.intakeKey, 'mesh')).length });
      await sleep(100);
    }
  })();
  return { samples, async stop() { stopping = true; await sampling; } };
}

/** When the first event committed after `since` was committed (the sink writes again), from the events table. */
async function firstCommitAfter(run: ChaosMesh, since: number, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await run.pool.query<{ at: string | null }>(
      'SELECT (extract(epoch FROM min(committed_at)) * 1000)::float8 AS at FROM events WHERE committed_at >= to_timestamp($1 / 1000.0)', [since],
    );
    if (rows[0]?.at !== null && rows[0]?.at !== undefined) return Number(rows[0].at);
    if (Date.now() > deadline) return undefined;
    await sleep(100);
  }
}

function reportBreakers(run: ChaosMesh, services: ServiceName[], faultAt: number, healedAt: number, t: Diagnostics): Record<string, { opened?: number; closed?: number; probes: number }> {
  const figures: Record<string, { opened?: number; closed?: number; probes: number }> = {};
  for (const service of services) {
    const transitions = run.breakerTransitions({ service, dependency: 'postgres', since: faultAt });
    const opened = transitions.find((x) => x.state === 'open');
    const closed = transitions.find((x) => x.state === 'closed' && x.at >= healedAt);
    figures[service] = {
      opened: opened && opened.at - faultAt,
      closed: closed && closed.at - healedAt,
      probes: transitions.filter((x) => x.state === 'half-open' && x.at < healedAt).length,
    };
  }
  t.diagnostic(`breakers (opened: ms after the fault; closed: ms after it healed; half-open probes while faulty): ${JSON.stringify(figures)}`);
  t.diagnostic(`breaker transitions (ms after the fault): ${run.breakerTransitions({ dependency: 'postgres', since: faultAt }).map((x) => `${x.service}:${x.state}@+${x.at - faultAt}`).join(' ')}`);
  return figures;
}

test('Postgres down and back: the join and sink breakers open and hold, the intake fills and the edge answers 429, calls stay bounded, the mesh recovers by itself, every accepted event lands once', { timeout: 90_000 }, async (t) => {
  // The sink reaches Postgres through a proxy of its own, the join and the gateway through another: the outage
  // cuts the sink's first and the other as soon as the sink's breaker opened. Cut at the same instant, the stage
  // that holds first starves the other (a join that holds sends the sink nothing to fail on; a sink that holds
  // stops the join's credit), and whose breaker opens would be luck. The sink's link is larger than the others
  // here so that the join still has room to send, and so calls to make, when its own Postgres goes.
  const sinkPostgres = await proxyToSharedPostgres();
  const postgres = await proxyToSharedPostgres();
  const runs: ChaosMesh[] = [];
  t.after(() => tearDown([sinkPostgres, postgres], runs));
  const run = await startChaosMesh({
    env: meshEnv,
    serviceEnv: { join: joinEnv, sink: { LINK_CAPACITY: '1500' } },
    via: { database: postgres },
    serviceVia: { sink: { database: sinkPostgres } },
  });
  runs.push(run);
  const runId = `pg-${randomBytes(3).toString('hex')}`;
  const load = new OpenLoad(run.mesh.gatewayUrl, runId, { batch: 50, intervalMs: 40, maxInFlight: 24 }).start();
  const intake = sampleIntake(run);
  await sleep(2_500);
  const steadyRate = acceptedRate(load, Date.now() - 2_000, Date.now());
  assert.ok(steadyRate > 0, 'events are accepted before the outage');

  const before = { sink: sinkPostgres.stats(), others: postgres.stats() };
  const cutAt = Date.now();
  await sinkPostgres.cut();
  const sinkOpened = await run.waitForBreaker('sink', 'open', cutAt, 3_000);
  const secondCutAt = Date.now();
  await postgres.cut();
  const joinOpened = await run.waitForBreaker('join', 'open', secondCutAt, 3_000);
  await sleep(cutAt + outageMs / 2 - Date.now());
  const hotItems = await fetch(`${run.mesh.gatewayUrl}/v1/hot-items`);
  await sleep(cutAt + outageMs - Date.now());
  const whileCut = { sink: difference(sinkPostgres.stats(), before.sink), others: difference(postgres.stats(), before.others) };
  const restoreAt = Date.now();
  await Promise.all([sinkPostgres.restore(), postgres.restore()]);

  const resumed = await firstAcceptedAfter(load, restoreAt, 15_000);
  const committedAgain = await firstCommitAfter(run, restoreAt, 15_000);
  const [joinClosed, sinkClosed] = await Promise.all([run.waitForBreaker('join', 'closed', restoreAt, 10_000), run.waitForBreaker('sink', 'closed', restoreAt, 10_000)]);
  const recoveredAt = Date.now();
  await sleep(2_000);
  const recoveredRate = acceptedRate(load, recoveredAt, Date.now());
  await load.stop();
  await intake.stop();

  const outageStatuses = load.statusCounts(load.answersReceived(cutAt, restoreAt));
  const peakIntake = Math.max(...intake.samples.filter((s) => s.at >= cutAt && s.at <= restoreAt).map((s) => s.length));
  const firstRefusal = load.answersReceived(cutAt, restoreAt).find((answer) => answer.status === 429 || answer.status === 503);
  t.diagnostic(`steady ${Math.round(steadyRate)} events/s accepted; outage ${restoreAt - cutAt} ms (the sink's Postgres cut first, the join's and the gateway's ${secondCutAt - cutAt} ms later); GET /v1/hot-items while cut: ${hotItems.status}`);
  const breakers = reportBreakers(run, ['join', 'sink'], cutAt, restoreAt, t);
  t.diagnostic(`while cut: the sink's proxy saw ${describeProxy(whileCut.sink)}; the join's and gateway's proxy saw ${describeProxy(whileCut.others)}`);
  t.diagnostic(`edge while Postgres was down: ${JSON.stringify(outageStatuses)} (first refusal ${round(firstRefusal && firstRefusal.answeredAt - cutAt)} after the cut); all answers ${JSON.stringify(load.statusCounts())}; intake peaked at ${peakIntake} of ${intakeBound}`);
  t.diagnostic(`recovery: first commit ${round(committedAgain && committedAgain - restoreAt)} after restore, first 202 to a request sent after restore ${round(resumed && resumed.answeredAt - restoreAt)}; ${Math.round(recoveredRate)} events/s accepted in the 2 s after both breakers closed (steady ${Math.round(steadyRate)})`);

  assert.ok(joinOpened, "the join's Postgres breaker opened (its log says 'breaker opened')");
  assert.ok(sinkOpened, "the sink's Postgres breaker opened");
  assertEdgeAnswers(load);
  assert.equal(hotItems.status, 503, 'the read API answers 503 while its database is down');
  assert.ok((outageStatuses[429] ?? 0) > 0, 'the intake fills and the edge answers 429 while Postgres is down');
  assert.ok(peakIntake >= intakeBound - 100 && peakIntake <= intakeBound, `the intake fills to its bound and no further (${peakIntake})`);
  // Bounded: each breaker lets a few calls fail before it opens, then one probe per reset interval; each is one connection attempt.
  assert.ok(whileCut.sink.refused + whileCut.others.refused <= 40, `connection attempts while cut: ${whileCut.sink.refused} + ${whileCut.others.refused}`);
  const probeBound = Math.ceil(outageMs / resetMs) + 1;
  for (const service of ['join', 'sink']) assert.ok(breakers[service]!.probes <= probeBound, `${service}: at most one probe per ${resetMs} ms while open`);
  assert.ok(resumed && resumed.answeredAt - restoreAt < 8_000, 'the edge accepts new events again within seconds of Postgres returning');
  assert.ok(joinClosed && sinkClosed, 'both breakers closed by themselves');
  assert.ok(recoveredRate > 0.5 * steadyRate, `throughput resumes (${Math.round(recoveredRate)} vs ${Math.round(steadyRate)} events/s)`);
  await assertDrainedExactlyOnce(run, load, runId, t);
});

test('Postgres answers slowly: calls time out, the breakers open, nothing is lost, and the mesh recovers when the latency goes', { timeout: 90_000 }, async (t) => {
  const postgres = await proxyToSharedPostgres();
  const runs: ChaosMesh[] = [];
  t.after(() => tearDown([postgres], runs));
  const timeoutMs = 500;
  const delayMs = 300; // per chunk, each way: a query's round trip takes at least 600 ms
  // The join keeps its products cached (the default TTL) here: the sink's commits are what Postgres slows down.
  // (With the join looking products up all the time, the join's breaker opens first and holds, so no event reaches the sink to time out.)
  const run = await startChaosMesh({
    env: { ...meshEnv, BREAKER_POSTGRES_TIMEOUT_MS: String(timeoutMs) },
    via: { database: postgres },
  });
  runs.push(run);
  const runId = `pgslow-${randomBytes(3).toString('hex')}`;
  const load = new OpenLoad(run.mesh.gatewayUrl, runId, { batch: 50, intervalMs: 40, maxInFlight: 24 }).start();
  const intake = sampleIntake(run);
  await sleep(2_500);
  const steadyRate = acceptedRate(load, Date.now() - 2_000, Date.now());

  const before = postgres.stats();
  const slowAt = Date.now();
  postgres.delayMs = delayMs;
  const sinkOpened = await run.waitForBreaker('sink', 'open', slowAt, 4_000);
  await sleep(slowAt + outageMs - Date.now());
  const whileSlow = difference(postgres.stats(), before);
  const fastAt = Date.now();
  postgres.delayMs = 0;

  const resumed = await firstAcceptedAfter(load, fastAt, 15_000);
  const sinkClosed = await run.waitForBreaker('sink', 'closed', fastAt, 10_000);
  const recoveredAt = Date.now();
  await sleep(2_000);
  const recoveredRate = acceptedRate(load, recoveredAt, Date.now());
  await load.stop();
  await intake.stop();

  const slowStatuses = load.statusCounts(load.answersReceived(slowAt, fastAt));
  const peakIntake = Math.max(...intake.samples.filter((s) => s.at >= slowAt && s.at <= fastAt).map((s) => s.length));
  t.diagnostic(`steady ${Math.round(steadyRate)} events/s accepted; Postgres ${delayMs} ms slower per chunk each way for ${fastAt - slowAt} ms, BREAKER_POSTGRES_TIMEOUT_MS=${timeoutMs}`);
  const breakers = reportBreakers(run, ['join', 'sink'], slowAt, fastAt, t);
  t.diagnostic(`while slow: the proxy saw ${describeProxy(whileSlow)}`);
  t.diagnostic(`edge while slow: ${JSON.stringify(slowStatuses)}; all answers ${JSON.stringify(load.statusCounts())}; intake peaked at ${peakIntake} of ${intakeBound}`);
  t.diagnostic(`recovery: first 202 to a request sent after the latency went ${round(resumed && resumed.answeredAt - fastAt)}; ${Math.round(recoveredRate)} events/s accepted in the 2 s after both breakers closed (steady ${Math.round(steadyRate)})`);

  assert.ok(sinkOpened, "the sink's breaker opened on timeouts");
  assertEdgeAnswers(load);
  assert.ok((slowStatuses[429] ?? 0) > 0, 'the intake fills and the edge answers 429 while Postgres is slow');
  const probeBound = Math.ceil(outageMs / resetMs) + 1;
  assert.ok(breakers.sink!.probes <= probeBound, `sink: at most one probe per ${resetMs} ms while open`);
  assert.ok(resumed && resumed.answeredAt - fastAt < 8_000, 'the edge accepts new events again within seconds');
  assert.ok(sinkClosed, "the sink's breaker closed by itself");
  assert.ok(recoveredRate > 0.5 * steadyRate, `throughput resumes (${Math.round(recoveredRate)} vs ${Math.round(steadyRate)} events/s)`);
  await assertDrainedExactlyOnce(run, load, runId, t);
});
