import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMeshUnderTest, type MeshUnderTest } from '../helpers/meshHarness.js';
import { postEvents, postUntilAccepted, wireEvents } from '../helpers/httpEvents.js';
import type { ServiceName } from '../../tools/launcher/Mesh.js';

async function acceptedThenCrash(run: MeshUnderTest, crash: ServiceName, t: { diagnostic(message: string): void }): Promise<void> {
  const runId = `rd-${crash}-${randomBytes(3).toString('hex')}`;
  const events = wireEvents(3_000, runId);
  for (let from = 0; from < events.length; from += 500) await postUntilAccepted(run.mesh.gatewayUrl, events.slice(from, from + 500));
  const [pending] = (await run.redis.xpending(`${run.keyPrefix}intake`, 'mesh')) as [number];
  await run.mesh.services[crash].stop('SIGKILL');
  await run.mesh.services[crash].start();
  const ids = events.map((event) => event.id);
  const deadline = Date.now() + 60_000;
  let committed = 0;
  while (Date.now() < deadline) {
    committed = Number((await run.pool.query('SELECT count(*) FROM events WHERE id = ANY($1)', [ids])).rows[0].count);
    if (committed === ids.length && (await run.redis.xlen(`${run.keyPrefix}intake`)) === 0) break;
    await sleep(200);
  }
  t.diagnostic(`${crash} killed with ${pending} intake entries read and unacknowledged; ${committed} of ${ids.length} committed after its restart`);
  assert.ok(pending > 0, 'events were in flight when it died');
  assert.equal(committed, ids.length, 'every accepted event arrives, each once (events.id is the primary key)');
  assert.equal(await run.redis.xlen(`${run.keyPrefix}intake`), 0);
}

test('the source re-delivers unacknowledged intake entries after its own restart, and after a downstream link reset', { timeout: 240_000 }, async (t) => {
  const run = await startMeshUnderTest({ env: { LINK_CAPACITY: '500', MAX_BATCH_EVENTS: '100' }, serviceEnv: { sink: { SINK_DELAY_MS: '100' } } });
  t.after(() => run.dispose());
  const tooLarge = await postEvents(run.mesh.gatewayUrl, JSON.stringify(wireEvents(501, 'too-large')));
  assert.equal(tooLarge.status, 413, 'a request larger than the intake link can ever hold is refused, not left to 429 forever');
  await acceptedThenCrash(run, 'source', t);
  await acceptedThenCrash(run, 'enrichment', t);
  await acceptedThenCrash(run, 'sink', t);
  const dead = await run.pool.query('SELECT count(*) FROM dead_letters');
  assert.equal(Number(dead.rows[0].count), 0);
});
