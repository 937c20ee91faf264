import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Delivery, LinkReceiver } from '../../lib/flow/LinkReceiver.js';
import { LinkResetError } from '../../lib/flow/linkErrors.js';
import { LinkRouter, type Routing } from '../../lib/flow/LinkRouter.js';
import { makeEvents } from '../helpers/events.js';
import { startReceiver } from '../helpers/receivers.js';

/**
 * A replica that acknowledges what arrives at once, holds it unacknowledged until told, or never
 * takes it at all (a stage whose own downstream gives it no credit: its buffer fills, its credit stops).
 */
async function replica(options: { behaviour: 'acknowledge' | 'hold' | 'stall'; address?: string }) {
  const held: Delivery[] = [];
  const links: LinkReceiver[] = [];
  const receiver = await startReceiver((link) => {
    links.push(link);
    if (options.behaviour === 'stall') return;
    void (async () => {
      for await (const delivery of link) {
        if (options.behaviour === 'acknowledge') delivery.acknowledge();
        else held.push(delivery);
      }
    })();
  }, { capacity: 100, maxBatchEvents: 50 }, options.address);
  return { receiver, held, get received() { return links.reduce((sum, link) => sum + link.received, 0); } };
}

function router(targets: string, routing: Routing, extra: Partial<ConstructorParameters<typeof LinkRouter>[0]> = {}): LinkRouter {
  return new LinkRouter({ targets, routing, link: 'a->b', sender: 'a', ...extra });
}

/** Waits (up to 5 s) until `value()` equals `expected`, and asserts it. */
async function eventually(value: () => number, expected: number, message: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (value() !== expected && Date.now() < deadline) await sleep(10);
  assert.equal(value(), expected, message);
}

async function untilConnected(linkRouter: LinkRouter, replicas: number): Promise<void> {
  while (linkRouter.stats().capacity < replicas * 100) await sleep(10);
}

describe('LinkRouter: one logical link over a link to every replica', () => {
  test('credit routing sends each batch where there is credit, so a replica that holds everything does not stall the others', async (t) => {
    const fast = await replica({ behaviour: 'acknowledge' });
    const stuck = await replica({ behaviour: 'stall' });
    const links = router(`${fast.receiver.target},${stuck.receiver.target}`, 'credit');
    t.after(() => { void links.close(); fast.receiver.stop(); stuck.receiver.stop(); });
    await untilConnected(links, 2);
    for (let i = 0; i < 40; i += 1) await links.send(makeEvents(10));
    await eventually(() => fast.received, 300, 'the fast replica got the rest');
    await eventually(() => stuck.received, 100, 'the stuck replica got exactly what it granted');
  });

  test('round-robin sends to each replica in turn, so the one that holds everything stalls the stream', async (t) => {
    const fast = await replica({ behaviour: 'acknowledge' });
    const stuck = await replica({ behaviour: 'stall' });
    const links = router(`${fast.receiver.target},${stuck.receiver.target}`, 'round-robin');
    t.after(() => { void links.close(); fast.receiver.stop(); stuck.receiver.stop(); });
    await untilConnected(links, 2);
    const sending = (async () => { for (let i = 0; i < 40; i += 1) await links.send(makeEvents(10)); })();
    const finished = await Promise.race([sending.then(() => true), sleep(1_000).then(() => false)]);
    assert.equal(finished, false, 'the sends wait on the stuck replica');
    assert.ok(fast.received <= 110, `the fast replica got only its turns: ${fast.received}`);
    void links.close();
    await sending.catch(() => undefined);
  });

  test('a batch is acknowledged once every replica acknowledged its part, each batch on its own', async (t) => {
    const first = await replica({ behaviour: 'acknowledge' });
    const second = await replica({ behaviour: 'hold' });
    const links = router(`${first.receiver.target},${second.receiver.target}`, 'round-robin');
    t.after(() => { void links.close(); first.receiver.stop(); second.receiver.stop(); });
    await untilConnected(links, 2);
    const acknowledged: number[] = [];
    const sent = [await links.send(makeEvents(10)), await links.send(makeEvents(10)), await links.send(makeEvents(10))];
    sent.forEach((result, batch) => void result.acknowledged.then(() => acknowledged.push(batch)));
    assert.deepEqual(sent.map((result) => result.count), [10, 10, 10]);
    await sleep(100);
    assert.deepEqual(acknowledged.sort(), [0, 2], 'the batches on the acknowledging replica, not the one on the holding replica');
    for (const delivery of second.held) delivery.acknowledge();
    await sent[1]!.acknowledged;
    assert.equal(links.stats().acknowledged, 30);
    assert.equal(links.stats().sent, 30);
  });

  test('rule 8 across replicas: a replica\'s link that resets rejects the acknowledgement of what it held unacknowledged, and the next batches go to the others', async (t) => {
    const healthy = await replica({ behaviour: 'acknowledge' });
    const failing = await replica({ behaviour: 'hold' });
    const links = router(`${healthy.receiver.target},${failing.receiver.target}`, 'round-robin');
    t.after(() => { void links.close(); healthy.receiver.stop(); });
    await untilConnected(links, 2);
    const first = await links.send(makeEvents(10));
    const second = await links.send(makeEvents(10));
    await first.acknowledged; // the healthy replica's acknowledgement
    failing.receiver.stop();
    await assert.rejects(second.acknowledged, (error: unknown) => error instanceof LinkResetError && error.unacknowledged === 10);
    const before = healthy.received;
    const next = await links.send(makeEvents(10));
    await next.acknowledged;
    await eventually(() => healthy.received, before + 10, 'the healthy replica took the next batch');
  });

  test('a name that resolves to several addresses is a replica each, and replicas that join or leave are picked up without a restart', async (t) => {
    const first = await replica({ behaviour: 'acknowledge' });
    const second = await replica({ behaviour: 'acknowledge', address: `127.0.0.2:${first.receiver.port}` });
    let addresses = ['127.0.0.1'];
    const links = router(`replicas.test:${first.receiver.port}`, 'credit', { resolveName: async () => addresses, resolveIntervalMs: 50 });
    t.after(() => { void links.close(); first.receiver.stop(); second.receiver.stop(); });
    await untilConnected(links, 1);
    assert.deepEqual(links.replicas, [`127.0.0.1:${first.receiver.port}`]);
    addresses = ['127.0.0.1', '127.0.0.2'];
    await untilConnected(links, 2);
    assert.deepEqual(links.replicas.sort(), [`127.0.0.1:${first.receiver.port}`, `127.0.0.2:${first.receiver.port}`]);
    addresses = ['127.0.0.2'];
    while (links.replicas.length > 1) await sleep(10);
    await links.send(makeEvents(10));
    await eventually(() => second.received, 10, 'what is sent after the first replica left goes to the one that stays');
  });
});
