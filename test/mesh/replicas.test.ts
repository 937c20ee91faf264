import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMeshUnderTest } from '../helpers/meshHarness.js';
import { sustainedLoad } from '../helpers/sustainedLoad.js';

test('replicas of every stage: each accepted event is committed exactly once, in events and in item_minute, though a source, an enrichment and a sink replica are killed on the way', { timeout: 180_000 }, async (t) => {
  const run = await startMeshUnderTest({
    replicas: { source: 2, enrichment: 2, join: 2, sink: 2 },
    env: { LINK_CAPACITY: '500', MAX_BATCH_EVENTS: '100', SOURCE_CLAIM_IDLE_MS: '3000' },
  });
  t.after(() => run.dispose());
  const load = sustainedLoad(run.mesh.gatewayUrl, `replicas-${randomBytes(4).toString('hex')}`, { clients: 4, batch: 100 });
  await sleep(3_000);
  await run.mesh.replicas.enrichment[1]!.process.stop('SIGKILL');
  await sleep(2_000);
  await run.mesh.replicas.sink[0]!.process.stop('SIGKILL');
  await sleep(1_000);
  // The other source takes over what this one read and left pending (SOURCE_CLAIM_IDLE_MS).
  await run.mesh.replicas.source[1]!.process.stop('SIGKILL');
  await sleep(3_000);
  const { accepted } = await load.stop();
  assert.ok(accepted.size > 2_000, `accepted ${accepted.size}`);

  const deadline = Date.now() + 60_000;
  let committed = 0;
  while (Date.now() < deadline) {
    const { rows } = await run.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE id = ANY($1)', [[...accepted]]);
    committed = rows[0]!.n;
    if (committed === accepted.size) break;
    await sleep(500);
  }
  assert.equal(committed, accepted.size, 'every accepted event is in events');
  const { rows } = await run.pool.query<{ events: number; counted: number }>('SELECT (SELECT count(*) FROM events)::int AS events, (SELECT sum(count) FROM item_minute)::int AS counted');
  assert.equal(rows[0]!.counted, rows[0]!.events, 'item_minute counts every row once, re-deliveries included');
  // Both replicas of the stages that stayed whole took part.
  for (const replica of run.mesh.replicas.join) {
    const figures = await (await fetch(`http://127.0.0.1:${replica.adminPort}/v1/pressure`)).json() as { events_in_total: number };
    assert.ok(figures.events_in_total > 0, `join replica on ${replica.port} took events`);
  }
});
