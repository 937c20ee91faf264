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

test('producers on the gRPC ingest are admitted by class: while credit is scarce a purchase stream goes ahead of a view stream, and neither is ever refused', { timeout: 90_000 }, async (t) => {
  // A sink that commits about 200 events/s and small windows: the two producers offer far more.
  const run = await startMeshUnderTest({
    env: { LINK_CAPACITY: '400', INTAKE_MAX_LENGTH: '1000' },
    serviceEnv: { sink: { SINK_DELAY_MS: '500', STAGE_CONCURRENCY: '1', MAX_BATCH_EVENTS: '100' } },
  });
  t.after(() => run.dispose());
  const streams = (['purchase', 'view'] as const).map((kind) => {
    const producer = new LinkSender({ target: run.mesh.ingestAddress, link: `${kind}s->gateway`, sender: `${kind}-producer` });
    const resets: string[] = [];
    producer.on('reset', ({ details }) => resets.push(details));
    t.after(() => producer.cancel());
    return { kind, producer, resets, acknowledged: 0 };
  });
  const offerForMs = 8_000;
  const until = Date.now() + offerForMs;
  await Promise.all(streams.map(async (stream) => {
    const pending: Array<Promise<void>> = [];
    while (Date.now() < until) {
      const events = makeEvents(100).map((event) => ({ ...event, kind: stream.kind, userId: 'user-1', itemId: 'item-1' }));
      // send waits for credit: the producer's pace is the credit it is given.
      const sent = await Promise.race([stream.producer.send(events, {}), sleep(until - Date.now()).then(() => undefined)]);
      if (!sent) break;
      // Those still waiting when the test ends are cancelled with the producer.
      pending.push(sent.acknowledged.then(() => { stream.acknowledged += events.length; }, () => undefined));
    }
  }));
  const [purchases, views] = streams;
  t.diagnostic(`acknowledged in ${offerForMs} ms: purchases ${purchases!.acknowledged}, views ${views!.acknowledged}`);
  assert.ok(purchases!.acknowledged >= 300, `purchases go on being admitted (${purchases!.acknowledged})`);
  assert.ok(views!.acknowledged * 2 <= purchases!.acknowledged, `views wait behind purchases (${views!.acknowledged} vs ${purchases!.acknowledged})`);
  assert.deepEqual(streams.map((stream) => stream.resets), [[], []], 'a producer within its credit is never refused');
});

test('the gRPC ingest checks a producer\'s events as the HTTP edge does: a batch with an invalid one ends the link with INVALID_ARGUMENT naming it', { timeout: 60_000 }, async (t) => {
  const run = await startMeshUnderTest({ serviceEnv: { gateway: { GATEWAY_API_KEYS: 'shop:shop-token' } } });
  t.after(() => run.dispose());
  const endOf = (producer: LinkSender) => new Promise<string>((resolve) => producer.on('reset', ({ details }) => resolve(details)));
  const careless = new LinkSender({ target: run.mesh.ingestAddress, link: 'careless->gateway', sender: 'careless', metadata: { authorization: 'Bearer shop-token' } });
  t.after(() => careless.cancel());
  const ended = endOf(careless);
  void careless.send([{ ...makeEvents(1)[0]!, kind: 'refund' }], {}).catch(() => undefined);
  assert.match(await ended, /^INVALID_ARGUMENT: event 0 of the batch: kind: one of view, click, cart, purchase/);
  const { rows } = await run.pool.query('SELECT count(*)::int AS n FROM events');
  assert.equal(rows[0].n, 0, 'nothing of the batch was taken');
});
