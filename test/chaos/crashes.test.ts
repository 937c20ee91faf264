import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMeshUnderTest, type MeshUnderTest } from '../helpers/meshHarness.js';
import { sustainedLoad, type LoadReport } from '../helpers/sustainedLoad.js';
import { serviceNames } from '../../tools/launcher/Mesh.js';

async function committedCount(run: MeshUnderTest): Promise<number> {
  return Number((await run.pool.query('SELECT count(*) FROM events')).rows[0].count);
}

/** Committed events per second over the next `ms`. */
async function commitRate(run: MeshUnderTest, ms: number): Promise<number> {
  const before = await committedCount(run);
  await sleep(ms);
  return ((await committedCount(run)) - before) / (ms / 1000);
}

async function assertExactlyOnce(run: MeshUnderTest, report: LoadReport, t: { diagnostic(message: string): void }): Promise<void> {
  const accepted = [...report.accepted];
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && ((await committedCount(run)) < accepted.length || (await run.redis.xlen(`${run.keyPrefix}intake`)) > 0)) await sleep(250);
  const present = Number((await run.pool.query('SELECT count(*) FROM events WHERE id = ANY($1)', [accepted])).rows[0].count);
  const total = await committedCount(run);
  t.diagnostic(`accepted ${accepted.length}, committed ${total}, answers ${JSON.stringify([...report.statuses])}`);
  assert.equal(present, accepted.length, 'every event answered 202 is in events');
  assert.equal(total, accepted.length, 'and nothing else, each once');
}

test('crashes: kill -9 each service in turn under sustained load; every accepted event lands exactly once', { timeout: 240_000 }, async (t) => {
  const run = await startMeshUnderTest();
  t.after(() => run.dispose());
  const load = sustainedLoad(run.mesh.gatewayUrl, `crash-${randomBytes(3).toString('hex')}`);
  await sleep(1_500);
  for (const name of ['gateway', 'source', 'enrichment', 'join', 'sink'] as const) {
    const before = await commitRate(run, 1_000);
    await run.mesh.services[name].stop('SIGKILL');
    const killedAt = Date.now();
    await run.mesh.services[name].start();
    let recovered = Number.NaN;
    while (Date.now() - killedAt < 20_000) {
      if ((await commitRate(run, 250)) >= 0.8 * before) {
        recovered = Date.now() - killedAt;
        break;
      }
    }
    t.diagnostic(`${name}: ${Math.round(before)} events/s before; back to >= 80% of it ${recovered} ms after kill -9 (restart included)`);
    assert.ok(Number.isFinite(recovered), `${name}: throughput came back`);
  }
  await assertExactlyOnce(run, await load.stop(), t);
});

test('graceful shutdown: a rolling restart (SIGTERM) of every service under load loses nothing and answers no 500', { timeout: 240_000 }, async (t) => {
  const run = await startMeshUnderTest();
  t.after(() => run.dispose());
  const load = sustainedLoad(run.mesh.gatewayUrl, `roll-${randomBytes(3).toString('hex')}`);
  await sleep(1_000);
  for (const name of serviceNames) {
    const exitCode = await run.mesh.services[name].stop('SIGTERM');
    assert.equal(exitCode, 0, `${name} stopped cleanly`);
    await run.mesh.services[name].start();
    await sleep(700);
  }
  const report = await load.stop();
  const statuses = [...report.statuses.keys()];
  assert.ok(statuses.every((status) => ['202', '429', '503', 'no answer'].includes(status)), `answers: ${statuses}`);
  await assertExactlyOnce(run, report, t);
});
