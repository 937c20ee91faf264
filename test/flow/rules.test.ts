import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { LinkSender } from '../../lib/flow/LinkSender.js';
import { MAX_CREDIT } from '../../lib/flow/ProtocolError.js';
import type { LinkReceiver } from '../../lib/flow/LinkReceiver.js';
import { RawLink } from '../../conformance/RawLink.js';
import { makeEvents } from '../helpers/events.js';
import { consumeAll, nextLink, startReceiver } from '../helpers/receivers.js';
import { startScriptedReceiver } from '../helpers/scriptedReceiver.js';

const open = { open: { link: 'test', sender: 'raw', protocolVersion: 1 } };

async function openRaw(target: string): Promise<RawLink> {
  const raw = new RawLink(target, grpc.credentials.createInsecure());
  raw.send(open);
  await raw.next(2_000);
  await raw.next(2_000);
  return raw;
}

describe('the wire contract (proto/CONTRACT.md rules)', { timeout: 15_000 }, () => {
  test('rule 1: credit is counted in events and additive', async (t) => {
    const receiver = await startScriptedReceiver();
    const sender = new LinkSender({ target: `127.0.0.1:${receiver.port}`, link: 'a->b', sender: 'a' });
    t.after(() => { sender.cancel(); receiver.stop(); });
    const call = await receiver.nextCall();
    call.open(1000);
    call.grant(3);
    call.grant(4);
    const sending = sender.send(makeEvents(10));
    await call.until((c) => c.events === 7);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(call.events, 7, 'seven events for grants of 3 and 4');
    call.grant(3);
    await sending;
    await call.until((c) => c.events === 10);
  });

  test('rule 1: a grant of 0, or outstanding credit above 2^31-1, is a protocol error (INVALID_ARGUMENT)', async (t) => {
    const receiver = await startScriptedReceiver();
    const sender = new LinkSender({ target: `127.0.0.1:${receiver.port}`, link: 'a->b', sender: 'a', backoff: { initialMs: 10, maxMs: 10 } });
    t.after(() => { sender.cancel(); receiver.stop(); });

    const zero = await receiver.nextCall();
    zero.open();
    zero.grant(0);
    assert.equal((await zero.closeFrame()).code, grpc.status.INVALID_ARGUMENT);

    const overflow = await receiver.nextCall();
    overflow.open();
    overflow.grant(MAX_CREDIT);
    overflow.grant(1);
    assert.equal((await overflow.closeFrame()).code, grpc.status.INVALID_ARGUMENT);
    assert.match((await overflow.closeFrame()).reason, /above 2147483647/);
  });

  test('rule 2: a sender never has more events outstanding than it was granted', async (t) => {
    const receiver = await startScriptedReceiver();
    const sender = new LinkSender({ target: `127.0.0.1:${receiver.port}`, link: 'a->b', sender: 'a' });
    t.after(() => { sender.cancel(); receiver.stop(); });
    sender.on('sent', ({ offset, count, granted }) => assert.ok(offset + count <= granted, `sent up to ${offset + count} with ${granted} granted`));
    const call = await receiver.nextCall();
    call.open();
    call.grant(5);
    const sending = sender.send(makeEvents(12));
    await call.until((c) => c.events === 5);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(call.events, 5);
    call.grant(7);
    const result = await sending;
    await call.until((c) => c.events === 12);
    assert.deepEqual(call.frames.filter((f) => f.batch).map((f) => f.batch!.events.length), [5, 7], 'the batch was split to fit the credit');
    assert.ok(result.creditWaitMs >= 40, `waited ${result.creditWaitMs} ms for credit`);
  });

  test('rule 2: a receiver that gets more than it granted ends the stream with RESOURCE_EXHAUSTED and never buffers beyond its bound', async (t) => {
    const links: LinkReceiver[] = [];
    const receiver = await startReceiver((link) => links.push(link), { capacity: 10, maxBatchEvents: 50 });
    t.after(() => receiver.stop());
    const raw = await openRaw(receiver.target);
    t.after(() => raw.dispose());
    raw.send({ batch: { offset: 0, events: makeEvents(8) } });
    raw.send({ batch: { offset: 8, events: makeEvents(3) } });
    const status = await raw.endWithin(2_000);
    assert.equal(status?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(status!.details, /received 3 events with only 2 granted/);
    assert.deepEqual(await links[0]!.closed, { reason: 'failed', code: grpc.status.RESOURCE_EXHAUSTED, details: 'received 3 events with only 2 granted' });
    assert.ok(links[0]!.window.buffered <= 10);
  });

  test("rule 3: the receiver's first grant is its buffer capacity, and it replenishes in chunks", async (t) => {
    const taken = nextLink();
    const receiver = await startReceiver(taken.onLink, { capacity: 100, replenishChunk: 25, maxBatchEvents: 100 });
    t.after(() => receiver.stop());
    const raw = await openRaw(receiver.target);
    t.after(() => raw.dispose());
    assert.deepEqual(raw.grants, [100]);
    for (let offset = 0; offset < 100; offset += 1) raw.send({ batch: { offset, events: makeEvents(1) } });
    const link = await taken.link;
    while (link.received < 100) await new Promise((resolve) => setTimeout(resolve, 5));
    for (let i = 0; i < 100; i += 1) (await link.take(1))!.acknowledge();
    await raw.awaitCredit(100, 2_000);
    assert.deepEqual(raw.grants, [100, 25, 25, 25, 25], 'one credit frame per 25 events freed, not one per event');
  });

  test('rule 3: a link gone idle grants what it freed short of a chunk, so a sender is never left short for good', async (t) => {
    const taken = nextLink();
    const receiver = await startReceiver(taken.onLink, { capacity: 100, replenishChunk: 25, maxBatchEvents: 100, idleGrantMs: 20 });
    t.after(() => receiver.stop());
    const raw = await openRaw(receiver.target);
    t.after(() => raw.dispose());
    raw.send({ batch: { offset: 0, events: makeEvents(10) } });
    (await (await taken.link).take())!.acknowledge();
    await raw.awaitCredit(100, 2_000);
    assert.deepEqual(raw.grants, [100, 10]);
  });

  test('rule 4: a stage grants upstream only what its downstream will absorb', async (t) => {
    // Downstream never consumes: its 20 events of capacity are all the relay may pass on.
    const downstream = await startReceiver(() => undefined, { capacity: 20, maxBatchEvents: 20 });
    const relayOut = new LinkSender({ target: downstream.target, link: 'relay->sink', sender: 'relay' });
    const relay = await startReceiver((link) => {
      void (async () => {
        for (;;) {
          const reservation = await relayOut.reserve(1_000);
          const delivery = await link.take(reservation.events);
          if (!delivery) return;
          await relayOut.send(delivery.events, {}, reservation);
        }
      })().catch(() => undefined); // the links are cancelled when the test ends
    }, { capacity: 30, maxBatchEvents: 30 });
    const source = new LinkSender({ target: relay.target, link: 'source->relay', sender: 'source' });
    t.after(() => { source.cancel(); relayOut.cancel(); relay.stop(); downstream.stop(); });

    const sending = source.send(makeEvents(200));
    sending.catch(() => undefined);
    const deadline = Date.now() + 5_000;
    while ((relayOut.stats().sent < 20 || source.stats().sent < 50) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(relayOut.stats().sent, 20, 'the relay passed on exactly what downstream granted');
    assert.equal(source.stats().sent, 50, 'the source sent only the relay buffer plus what downstream absorbed');
    assert.equal(source.stats().availableCredit, 0);
  });

  test('rule 5: acknowledgements are cumulative and monotonic per link', async (t) => {
    const taken = nextLink();
    const receiver = await startReceiver(taken.onLink, { capacity: 100, maxBatchEvents: 10 });
    const sender = new LinkSender({ target: receiver.target, link: 'a->b', sender: 'a' });
    t.after(() => { sender.cancel(); receiver.stop(); });
    const acks: number[] = [];
    sender.on('ack', ({ offset }) => acks.push(offset));
    await sender.send(makeEvents(30));
    const link = await taken.link;
    const deliveries = [(await link.take(10))!, (await link.take(10))!, (await link.take(10))!];
    deliveries[2]!.acknowledge();
    deliveries[1]!.acknowledge();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(acks, [], 'nothing is acknowledged while the first delivery is pending');
    deliveries[0]!.acknowledge();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(acks, [30], 'one cumulative ack covers all three');
  });

  test('rule 6: every batch carries W3C trace context, and the wait for credit is reported', async (t) => {
    const receiver = await startScriptedReceiver();
    const sender = new LinkSender({ target: `127.0.0.1:${receiver.port}`, link: 'a->b', sender: 'a' });
    t.after(() => { sender.cancel(); receiver.stop(); });
    const call = await receiver.nextCall();
    call.open();
    const traceContext = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    const sending = sender.send(makeEvents(4), traceContext);
    await new Promise((resolve) => setTimeout(resolve, 120));
    call.grant(2);
    await new Promise((resolve) => setTimeout(resolve, 30));
    call.grant(2);
    const result = await sending;
    await call.until((c) => c.events === 4);
    const batches = call.frames.filter((frame) => frame.batch).map((frame) => frame.batch!);
    assert.equal(batches.length, 2);
    for (const batch of batches) assert.deepEqual(batch.traceContext, traceContext);
    assert.ok(result.creditWaitMs >= 100, `credit wait ${result.creditWaitMs} ms`);
    assert.ok(sender.stats().creditWaitMs >= result.creditWaitMs);
  });

  test('rule 7: the first frame opens the link, and an incompatible version is refused with FAILED_PRECONDITION', async (t) => {
    const taken = nextLink();
    const receiver = await startReceiver(taken.onLink);
    t.after(() => receiver.stop());
    const sender = new LinkSender({ target: receiver.target, link: 'source->enrichment', sender: 'source-1' });
    await sender.send(makeEvents(1));
    const link = await taken.link;
    assert.deepEqual([link.name, link.sender], ['source->enrichment', 'source-1']);
    sender.cancel();

    const wrongVersion = new RawLink(receiver.target, grpc.credentials.createInsecure());
    t.after(() => wrongVersion.dispose());
    wrongVersion.send({ open: { link: 'x', sender: 'y', protocolVersion: 2 } });
    assert.equal((await wrongVersion.endWithin(2_000))?.code, grpc.status.FAILED_PRECONDITION);

    const scripted = await startScriptedReceiver();
    const versionTwoSender = new LinkSender({ target: `127.0.0.1:${scripted.port}`, link: 'a->b', sender: 'a' });
    t.after(() => { versionTwoSender.cancel(); scripted.stop(); });
    const call = await scripted.nextCall();
    await call.until((c) => c.frames.length > 0);
    assert.equal(call.frames[0]?.open?.protocolVersion, 1);
    call.open(1000, 1 << 20, 2);
    assert.equal((await call.closeFrame()).code, grpc.status.FAILED_PRECONDITION);
  });

  test('rule 8: links end cleanly, and after a reset the sender reconnects and reports what was unacknowledged', async (t) => {
    const ids: string[] = [];
    const first = await startReceiver(consumeAll(ids));
    const sender = new LinkSender({ target: first.target, link: 'a->b', sender: 'a', backoff: { initialMs: 20, maxMs: 100 } });
    t.after(() => sender.cancel());
    await sender.send(makeEvents(5));

    // A receiver that takes but never acknowledges, on the same address once the first is gone.
    first.stop();
    const [reset] = await once(sender, 'reset');
    assert.equal(reset.generation, 1);
    const holding: LinkReceiver[] = [];
    const second = await startReceiver((link) => void link.take().then(() => holding.push(link)), {}, `127.0.0.1:${first.port}`);
    t.after(() => second.stop());
    const result = await sender.send(makeEvents(3));
    assert.deepEqual([sender.stats().generation, result.offset], [2, 0], 'a new generation starts at offset 0');

    second.stop();
    const [secondReset] = await once(sender, 'reset');
    assert.deepEqual([secondReset.generation, secondReset.unacknowledged], [2, 3]);
  });

  test('rule 8: Close delivers everything, collects the last acknowledgements and ends with OK; cancel ends the receiving link', async (t) => {
    const ids: string[] = [];
    const closing = nextLink();
    const receiver = await startReceiver((link) => { closing.onLink(link); consumeAll(ids)(link); });
    t.after(() => receiver.stop());
    const sender = new LinkSender({ target: receiver.target, link: 'a->b', sender: 'a' });
    const acks: number[] = [];
    sender.on('ack', ({ offset }) => acks.push(offset));
    const events = makeEvents(40);
    await sender.send(events);
    await sender.close();
    assert.deepEqual(await (await closing.link).closed, { reason: 'closed' });
    assert.deepEqual(ids, events.map((event) => event.id));
    assert.equal(acks.at(-1), 40);
    await assert.rejects(sender.send(makeEvents(1)), { name: 'LinkClosedError' });

    const cancelled = nextLink();
    const other = await startReceiver(cancelled.onLink);
    t.after(() => other.stop());
    const cancelling = new LinkSender({ target: other.target, link: 'a->b', sender: 'a' });
    await cancelling.send(makeEvents(3));
    const link = await cancelled.link;
    while (link.received < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    cancelling.cancel();
    assert.deepEqual(await link.closed, { reason: 'cancelled' });
    assert.equal(await link.take(), undefined, 'nothing is delivered from a cancelled link');
  });

  test('rule 9: frames are bounded; a larger one is refused with RESOURCE_EXHAUSTED, and the sender splits to fit', async (t) => {
    const receiver = await startReceiver(() => undefined, { capacity: 100, maxBatchEvents: 10, maxBatchBytes: 2_000 });
    t.after(() => receiver.stop());
    const tooMany = await openRaw(receiver.target);
    t.after(() => tooMany.dispose());
    tooMany.send({ batch: { offset: 0, events: makeEvents(11) } });
    assert.equal((await tooMany.endWithin(2_000))?.code, grpc.status.RESOURCE_EXHAUSTED);
    const tooBig = await openRaw(receiver.target);
    t.after(() => tooBig.dispose());
    tooBig.send({ batch: { offset: 0, events: [{ ...makeEvents(1)[0], userId: 'u'.repeat(3_000) }] } });
    assert.equal((await tooBig.endWithin(2_000))?.code, grpc.status.RESOURCE_EXHAUSTED);

    const scripted = await startScriptedReceiver();
    const sender = new LinkSender({ target: `127.0.0.1:${scripted.port}`, link: 'a->b', sender: 'a' });
    t.after(() => { sender.cancel(); scripted.stop(); });
    const call = await scripted.nextCall();
    call.open(10, 1_000);
    call.grant(100);
    await sender.send(makeEvents(45).map((event) => ({ ...event, userId: 'u'.repeat(100) })));
    await call.until((c) => c.events === 45);
    const sizes = call.frames.filter((frame) => frame.batch).map((frame) => frame.batch!.events.length);
    assert.equal(sizes.reduce((a, b) => a + b, 0), 45);
    assert.ok(sizes.every((size) => size <= 10), `frames of ${sizes}`);
    assert.ok(sizes.length > 5, 'the byte limit split frames below the event limit');
    await assert.rejects(sender.send([{ ...makeEvents(1)[0], userId: 'u'.repeat(5_000) }]), { name: 'EventTooLargeError' });
  });
});

