import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { proxyToSharedRedis, startChaosMesh, tearDown, type ChaosMesh } from './chaosMesh.js';
import { OpenLoad } from './openLoad.js';
import { acceptedRate, assertDrainedExactlyOnce, assertEdgeAnswers, describeProxy, difference, firstAcceptedAfter, round } from './outageChecks.js';

const outageMs = 5_000;
const resetMs = 2_000; // BREAKER_REDIS_RESET_MS (the default): one half-open probe per breaker per interval while open
// Fixed windows: the source goes on appending to the intake while enrichment holds, so its own breaker meets the
// outage at once. Sized by time, the held mesh closes the intake's window and the source has nothing to fail for a while.
const meshEnv = { LATENCY_TARGET_MS: '0', LINK_CAPACITY: '500', MAX_BATCH_EVENTS: '100', BREAKER_REDIS_RESET_MS: String(resetMs) };

test('Redis down and back: the source and enrichment breakers open and hold, the edge answers 429/503, calls stay bounded, the mesh recovers by itself, every accepted event lands once', { timeout: 90_000 }, async (t) => {
  // One proxy per service in front of the shared Redis: the outage is both cut, enrichment's first so it has batches in hand when Redis goes.
  const sourceRedis = await proxyToSharedRedis();
  const enrichmentRedis = await proxyToSharedRedis();
  const runs: ChaosMesh[] = [];
  t.after(() => tearDown([sourceRedis, enrichmentRedis], runs));
  const run = await startChaosMesh({ env: meshEnv, serviceVia: { source: { redis: sourceRedis }, enrichment: { redis: enrichmentRedis } } });
  runs.push(run);
  const runId = `redis-${randomBytes(3).toString('hex')}`;
  const load = new OpenLoad(run.mesh.gatewayUrl, runId, { batch: 50, intervalMs: 40, maxInFlight: 24 }).start();
  await sleep(2_500);
  const steadyRate = acceptedRate(load, Date.now() - 2_000, Date.now());
  assert.ok(steadyRate > 0, 'events are accepted before the outage');

  const before = { source: sourceRedis.stats(), enrichment: enrichmentRedis.stats() };
  const cutAt = Date.now();
  await enrichmentRedis.cut();
  const enrichmentOpened = await run.waitForBreaker('enrichment', 'open', cutAt, 3_000);
  const sourceCutAt = Date.now();
  await sourceRedis.cut();
  const sourceOpened = await run.waitForBreaker('source', 'open', sourceCutAt, 3_000);
  await sleep(cutAt + outageMs - Date.now());
  const whileCut = { source: difference(sourceRedis.stats(), before.source), enrichment: difference(enrichmentRedis.stats(), before.enrichment) };
  const restoreAt = Date.now();
  await Promise.all([sourceRedis.restore(), enrichmentRedis.restore()]);

  const resumed = await firstAcceptedAfter(load, restoreAt, 15_000);
  const sourceClosed = await run.waitForBreaker('source', 'closed', restoreAt, 10_000);
  const enrichmentClosed = await run.waitForBreaker('enrichment', 'closed', restoreAt, 10_000);
  const recoveredAt = Date.now();
  await sleep(2_000);
  const recoveredRate = acceptedRate(load, recoveredAt, Date.now());
  await load.stop();

  const duringOutage = load.answersReceived(sourceCutAt, restoreAt);
  const outageStatuses = load.statusCounts(duringOutage);
  const probes = (service: 'source' | 'enrichment') => run.breakerTransitions({ service, dependency: 'redis', since: cutAt, until: restoreAt }).filter((x) => x.state === 'half-open').length;
  const transitions = run.breakerTransitions({ since: cutAt }).map((x) => `${x.service}:${x.state}@+${x.at - cutAt}`).join(' ');
  t.diagnostic(`steady ${Math.round(steadyRate)} events/s accepted; outage ${restoreAt - cutAt} ms (enrichment's Redis cut first, the source's ${sourceCutAt - cutAt} ms later)`);
  t.diagnostic(`breakers: enrichment opened ${round(enrichmentOpened && enrichmentOpened.at - cutAt)} after its cut, closed ${round(enrichmentClosed && enrichmentClosed.at - restoreAt)} after restore; source opened ${round(sourceOpened && sourceOpened.at - sourceCutAt)} after its cut, closed ${round(sourceClosed && sourceClosed.at - restoreAt)} after restore`);
  t.diagnostic(`breaker transitions (ms after the cut): ${transitions}`);
  t.diagnostic(`half-open probes while cut: source ${probes('source')}, enrichment ${probes('enrichment')}`);
  t.diagnostic(`while cut: source's proxy ${describeProxy(whileCut.source)}; enrichment's proxy ${describeProxy(whileCut.enrichment)}`);
  t.diagnostic(`edge while Redis was down: ${JSON.stringify(outageStatuses)}; all answers ${JSON.stringify(load.statusCounts())}; ticks skipped at ${24} in flight: ${load.skipped}`);
  t.diagnostic(`recovery: first 202 to a request sent after restore ${round(resumed && resumed.answeredAt - restoreAt)} after restore; ${Math.round(recoveredRate)} events/s accepted in the 2 s after both breakers closed (steady ${Math.round(steadyRate)})`);

  assert.ok(enrichmentOpened, "enrichment's Redis breaker opened (its log says 'breaker opened')");
  assert.ok(sourceOpened, "the source's Redis breaker opened");
  assertEdgeAnswers(load);
  assert.ok((outageStatuses[429] ?? 0) + (outageStatuses[503] ?? 0) > 0, 'the edge answers 429 or 503 while Redis is down');
  // Bounded: each connection reconnects with backoff (createRedis: doubling from 50 ms to at most 1 s, about 9
  // attempts in 5 s) and the breakers let one probe through per reset interval.
  const attemptsPerConnection = Math.ceil(outageMs / 1_000) + 8;
  assert.ok(whileCut.source.refused <= 2 * attemptsPerConnection, `connection attempts to the source's Redis (2 connections) while cut: ${whileCut.source.refused}`);
  assert.ok(whileCut.enrichment.refused <= attemptsPerConnection, `connection attempts to enrichment's Redis (1 connection) while cut: ${whileCut.enrichment.refused}`);
  const probeBound = Math.ceil(outageMs / resetMs) + 1;
  assert.ok(probes('source') <= probeBound && probes('enrichment') <= probeBound, `at most one half-open probe per ${resetMs} ms while open`);
  assert.ok(resumed && resumed.answeredAt - restoreAt < 8_000, 'the edge accepts new events again within seconds of Redis returning');
  assert.ok(sourceClosed && enrichmentClosed, 'both breakers closed by themselves');
  assert.ok(recoveredRate > 0.5 * steadyRate, `throughput resumes (${Math.round(recoveredRate)} vs ${Math.round(steadyRate)} events/s)`);

  await assertDrainedExactlyOnce(run, load, runId, t);
  const degraded = Number((await run.pool.query('SELECT count(*) FROM events WHERE profile_degraded OR NOT profile_found')).rows[0].count);
  assert.equal(degraded, 0, 'in hold mode every event got its profile');
});

test('Redis down and back, enrichment in degrade mode: events flow on marked profile_degraded while the profiles are unreachable, and get profiles again after', { timeout: 90_000 }, async (t) => {
  // Only enrichment's path to Redis is cut; the intake (the source's Redis) stays up.
  const enrichmentRedis = await proxyToSharedRedis();
  const runs: ChaosMesh[] = [];
  t.after(() => tearDown([enrichmentRedis], runs));
  const run = await startChaosMesh({
    env: meshEnv,
    serviceVia: { enrichment: { redis: enrichmentRedis } },
    serviceEnv: { enrichment: { ENRICHMENT_BREAKER_MODE: 'degrade' } },
  });
  runs.push(run);
  const runId = `degrade-${randomBytes(3).toString('hex')}`;
  const load = new OpenLoad(run.mesh.gatewayUrl, runId, { batch: 50, intervalMs: 40, maxInFlight: 24 }).start();
  await sleep(2_500);
  const steadyRate = acceptedRate(load, Date.now() - 2_000, Date.now());

  // The network slows first (profile look-ups take 200 ms), so look-ups are on their way when the connection goes.
  enrichmentRedis.delayMs = 100;
  await sleep(1_000);
  const before = enrichmentRedis.stats();
  const cutAt = Date.now();
  // As through a sidecar or load balancer whose Redis is gone: connections are accepted, then closed.
  await enrichmentRedis.cut('hangup');
  enrichmentRedis.delayMs = 0;
  const opened = await run.waitForBreaker('enrichment', 'open', cutAt, 3_000);
  await sleep(cutAt + outageMs - Date.now());
  const whileCut = difference(enrichmentRedis.stats(), before);
  const restoreAt = Date.now();
  await enrichmentRedis.restore();
  const closed = await run.waitForBreaker('enrichment', 'closed', restoreAt, 10_000);
  const closedAt = closed?.at ?? Date.now();
  await sleep(2_000);
  await load.stop();
  await assertDrainedExactlyOnce(run, load, runId, t);

  // Events accepted while enrichment's Redis was cut (after a short settling) went on, degraded, and were committed.
  const acceptedDuring = load.answersSent(cutAt + 1_000, restoreAt).filter((answer) => answer.status === 202).length;
  // Phases by acceptance time; the second before the cut is left out (those may be enriched after it).
  const rows = await run.pool.query<{ phase: string; degraded: string; found: string; total: string }>(`
    SELECT CASE WHEN accepted_at < to_timestamp($1 / 1000.0) THEN 'before'
                WHEN accepted_at < to_timestamp($2 / 1000.0) THEN 'edge'
                WHEN accepted_at < to_timestamp($3 / 1000.0) THEN 'during'
                WHEN accepted_at < to_timestamp($4 / 1000.0) THEN 'restored'
                ELSE 'after' END AS phase,
           count(*) FILTER (WHERE profile_degraded) AS degraded, count(*) FILTER (WHERE profile_found) AS found, count(*) AS total
    FROM events GROUP BY 1 ORDER BY 1`, [cutAt - 1_000, cutAt, restoreAt, closedAt]);
  const phases = Object.fromEntries(rows.rows.map((row) => [row.phase, { degraded: Number(row.degraded), found: Number(row.found), total: Number(row.total) }]));
  const committedDuringCut = Number((await run.pool.query(
    'SELECT count(*) FROM events WHERE profile_degraded AND committed_at < to_timestamp($1 / 1000.0)', [restoreAt],
  )).rows[0].count);
  // The longest time nothing was committed while enrichment's Redis was cut: a stage that degrades does not stall.
  const { rows: [gap] } = await run.pool.query<{ longest: number | null }>(`
    SELECT max(next - at)::float8 AS longest FROM (
      SELECT at, lead(at) OVER (ORDER BY at) AS next FROM (
        SELECT extract(epoch FROM committed_at)::float8 * 1000 AS at FROM events WHERE committed_at BETWEEN to_timestamp($1 / 1000.0) AND to_timestamp($2 / 1000.0)
        UNION ALL SELECT $1::float8 UNION ALL SELECT $2::float8) points) gaps`, [cutAt, restoreAt]);
  t.diagnostic(`steady ${Math.round(steadyRate)} events/s; enrichment's breaker opened ${round(opened && opened.at - cutAt)} after the cut, closed ${round(closed && closed.at - restoreAt)} after restore`);
  t.diagnostic(`events by acceptance time: ${JSON.stringify(phases)}; 202s to requests sent while cut: ${acceptedDuring}; answers ${JSON.stringify(load.statusCounts())}`);
  t.diagnostic(`while cut: enrichment's proxy ${describeProxy(whileCut)}; degraded rows committed before restore: ${committedDuringCut}; longest time without a commit while cut: ${round(gap?.longest ?? undefined)}`);

  assert.ok(opened, "enrichment's breaker opened");
  assert.ok(closed, "enrichment's breaker closed by itself after Redis returned");
  assertEdgeAnswers(load);
  assert.ok(acceptedDuring > 0, 'the edge keeps accepting while the profiles are unreachable');
  assert.ok((phases.during?.degraded ?? 0) > 0, 'events of the outage flow on with profile_degraded = true');
  assert.ok(committedDuringCut > 0, 'and are committed while Redis is still unreachable, not held');
  assert.ok((gap?.longest ?? Infinity) < 2_000, `the stream does not stall while degraded (longest gap between commits ${Math.round(gap?.longest ?? Infinity)} ms)`);
  assert.equal(phases.before?.degraded ?? 0, 0, 'nothing accepted before the outage is degraded');
  assert.ok((phases.after?.total ?? 0) > 0 && phases.after!.degraded === 0 && phases.after!.found === phases.after!.total, 'after recovery events get their profiles again');
});
