import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { LinkSender } from '../../lib/flow/LinkSender.js';
import { startMeshUnderTest } from '../helpers/meshHarness.js';
import { makeEvents } from '../helpers/events.js';

test('a producer on the gRPC ingest is given credit, and its events are acknowledged once in the intake and committed', { timeout: 60_000 }, async (t) => {
  const run = await startMeshUnderTest();
  t.after(() => run.dispose());
  const producer = new LinkSender({ target: run.mesh.ingestAddress, link: 'producer->gateway', sender: 'ingest-test' });
  t.after(() => producer.cancel());
  const events = makeEvents(300).map((event) => ({ ...event, userId: 'user-1', itemId: 'item-1' }));
  const sends = [];
  for (let i = 0; i < events.length; i += 100) sends.push(await producer.send(events.slice(i, i + 100), {}));
  await Promise.all(sends.map((sent) => sent.acknowledged));
  for (let i = 0; i < 100; i++) {
    const { rows } = await run.pool.query('SELECT count(*)::int AS n FROM events WHERE id = ANY($1)', [events.map((event) => event.id)]);
    if (rows[0].n === 300) break;
    await sleep(100);
  }
  const { rows } = await run.pool.query('SELECT count(*)::int AS n FROM events WHERE id = ANY($1)', [events.map((event) => event.id)]);
  assert.equal(rows[0].n, 300);
});
