import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMeshUnderTest } from '../helpers/meshHarness.js';
import { postEvents, wireEvents } from '../helpers/httpEvents.js';
import { serviceNames } from '../../tools/launcher/Mesh.js';
import { countIntake } from '../../services/source/Intake.js';

const intakeBound = 2_000;

test('backpressure end to end: a slow sink fills the intake to its bound and the gateway answers 429; once the sink is fast, everything accepted arrives once', { timeout: 180_000 }, async (t) => {
  const run = await startMeshUnderTest({
    // Fixed windows: the intake's bound itself is what this checks (sized by time, it holds far less; see IntakeWriter's tests).
    env: { LATENCY_TARGET_MS: '0', LINK_CAPACITY: '200', MAX_BATCH_EVENTS: '100', STAGE_CONCURRENCY: '2', INTAKE_MAX_LENGTH: String(intakeBound) },
    serviceEnv: { sink: { SINK_DELAY_MS: '400', STAGE_CONCURRENCY: '1' } },
  });
  t.after(() => run.dispose());
  const runId = `bp-${randomBytes(4).toString('hex')}`;
  const accepted: string[] = [];
  const statuses = new Map<number, number>();
  const peakRss = new Map<string, number>();
  let retryAfter: string | null = null;
  let sent = 0;

  const offerUntil = Date.now() + 8_000;
  const clients = Array.from({ length: 4 }, async () => {
    while (Date.now() < offerUntil) {
      const events = wireEvents(200, runId, { from: sent });
      sent += events.length;
      const answer = await postEvents(run.mesh.gatewayUrl, JSON.stringify(events));
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      if (answer.status === 202) accepted.push(...events.map((event) => event.id));
      if (answer.status === 429) { retryAfter = answer.retryAfter; await sleep(50); }
    }
  });
  const sampling = (async () => {
    while (Date.now() < offerUntil) {
      for (const name of serviceNames) peakRss.set(name, Math.max(peakRss.get(name) ?? 0, run.mesh.services[name].rssMb() ?? 0));
      await sleep(200);
    }
  })();
  await Promise.all([...clients, sampling]);

  // In events (an entry holds a batch of them).
  const { length: intakeLength, pending } = await countIntake(run.redis, `${run.keyPrefix}intake`, 'mesh');
  t.diagnostic(`offered ${sent}, accepted ${accepted.length}, statuses ${JSON.stringify([...statuses])}, intake ${intakeLength}, read but unacknowledged ${pending}, Retry-After ${retryAfter}, peak RSS MB ${JSON.stringify([...peakRss].map(([n, mb]) => [n, Math.round(mb)]))}`);
  assert.ok((statuses.get(429) ?? 0) > 0, 'the gateway sheds the excess with 429');
  assert.ok(Number(retryAfter) >= 1, 'a 429 says when to retry');
  assert.ok(intakeLength >= intakeBound - 200 && intakeLength <= intakeBound, `the intake fills to its bound (${intakeLength} of ${intakeBound})`);
  assert.ok(pending <= 3 * 200 + 2 * 100, `the source reads no more than the links downstream hold (${pending} pending)`);
  for (const [name, mb] of peakRss) assert.ok(mb < 200, `${name} peaked at ${Math.round(mb)} MB`);

  await run.mesh.services.sink.stop('SIGTERM');
  await run.mesh.services.sink.start({ SINK_DELAY_MS: '0', STAGE_CONCURRENCY: '4' });
  const deadline = Date.now() + 20_000;
  let committed = 0;
  while (Date.now() < deadline) {
    committed = Number((await run.pool.query('SELECT count(*) FROM events')).rows[0].count);
    if (committed >= accepted.length && (await run.redis.xlen(`${run.keyPrefix}intake`)) === 0) break;
    await sleep(250);
  }
  if (committed !== accepted.length) {
    t.diagnostic(`intake ${await run.redis.xlen(`${run.keyPrefix}intake`)}, pending ${JSON.stringify(await run.redis.xpending(`${run.keyPrefix}intake`, 'mesh'))}`);
    for (const name of serviceNames) t.diagnostic(`${name}: ${run.recentLines(name).slice(-8).join('\n')}`);
  }
  assert.equal(committed, accepted.length, 'everything accepted arrives, nothing more');
  const present = await run.pool.query('SELECT count(*) FROM events WHERE id = ANY($1)', [accepted]);
  assert.equal(Number(present.rows[0].count), accepted.length, 'each accepted event exactly once');
});
