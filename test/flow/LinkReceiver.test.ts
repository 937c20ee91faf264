import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { RawLink } from '../../conformance/RawLink.js';
import type { LinkReceiver } from '../../lib/flow/LinkReceiver.js';
import { makeEvents } from '../helpers/events.js';
import { nextLink, startReceiver } from '../helpers/receivers.js';

const open = { open: { link: 'test', sender: 'raw', protocolVersion: 1 } };
const insecure = grpc.credentials.createInsecure();

async function openedRaw(target: string): Promise<RawLink> {
  const raw = new RawLink(target, insecure);
  raw.send(open);
  await raw.awaitCredit(1, 2_000);
  return raw;
}

function captureStderr(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => { lines.push(...String(chunk).split('\n').filter(Boolean)); return true; }) as typeof process.stderr.write;
  return { lines, restore: () => { process.stderr.write = original; } };
}

describe('LinkReceiver', { timeout: 20_000 }, () => {
  test('take(max) hands out at most max events, splitting a batch, and the acknowledgement still covers it whole', async (t) => {
    const taken = nextLink();
    const receiver = await startReceiver(taken.onLink);
    t.after(() => receiver.stop());
    const raw = await openedRaw(receiver.target);
    t.after(() => raw.dispose());
    const events = makeEvents(10);
    raw.send({ batch: { offset: 0, events, traceContext: { traceparent: 'tp' } } });
    const link = await taken.link;
    const first = (await link.take(4))!;
    const second = (await link.take(100))!;
    assert.deepEqual([first.offset, first.events.length, second.offset, second.events.length], [0, 4, 4, 6]);
    assert.deepEqual(second.events.map((event) => event.id), events.slice(4).map((event) => event.id));
    assert.equal(second.traceContext.traceparent, 'tp');
    second.acknowledge();
    first.acknowledge();
    await raw.next(1_000);
    assert.deepEqual(raw.acks, [10]);
  });

  test('too many unacknowledged deliveries stop the taking, so the buffer fills and credit stops', async (t) => {
    const taken = nextLink();
    const receiver = await startReceiver(taken.onLink, { capacity: 10, replenishChunk: 1, maxBatchEvents: 10, maxUnacknowledgedDeliveries: 2 });
    t.after(() => receiver.stop());
    const raw = await openedRaw(receiver.target);
    t.after(() => raw.dispose());
    for (let offset = 0; offset < 10; offset += 1) raw.send({ batch: { offset, events: makeEvents(1) } });
    const link = await taken.link;
    const held = [(await link.take(1))!, (await link.take(1))!];
    let third = false;
    const taking = link.take(1).then((delivery) => { third = true; return delivery; });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(third, false, 'a third delivery waits for an acknowledgement');
    assert.equal(link.window.buffered, 8);
    held[0]!.acknowledge();
    assert.equal((await taking)!.offset, 2);
  });

  test('a delivery gathers consecutive batches up to the size asked for, so small frames do not make small deliveries', async (t) => {
    const taken = nextLink();
    const receiver = await startReceiver(taken.onLink, { capacity: 100, maxBatchEvents: 10 });
    t.after(() => receiver.stop());
    const raw = await openedRaw(receiver.target);
    t.after(() => raw.dispose());
    for (let offset = 0; offset < 12; offset += 3) raw.send({ batch: { offset, events: makeEvents(3) } });
    const link = await taken.link;
    while (link.received < 12) await new Promise((resolve) => setTimeout(resolve, 5));
    const first = link.takeNow(7)!;
    assert.deepEqual([first.offset, first.events.length], [0, 7]);
    const second = link.takeNow(100)!;
    assert.deepEqual([second.offset, second.events.length], [7, 5]);
    assert.equal(link.takeNow(100), undefined);
  });

  test('one link more than maxLinks is refused with RESOURCE_EXHAUSTED; others are unaffected', async (t) => {
    const links: LinkReceiver[] = [];
    const receiver = await startReceiver((link) => links.push(link), { maxLinks: 2 });
    t.after(() => receiver.stop());
    const first = await openedRaw(receiver.target);
    const second = await openedRaw(receiver.target);
    const third = new RawLink(receiver.target, insecure);
    t.after(() => [first, second, third].forEach((raw) => raw.dispose()));
    third.send(open);
    assert.equal((await third.endWithin(2_000))?.code, grpc.status.RESOURCE_EXHAUSTED);
    first.send({ batch: { offset: 0, events: makeEvents(1) } });
    assert.equal((await links[0]!.take())!.events.length, 1);
    first.dispose();
    await links[0]!.closed;
    const fourth = await openedRaw(receiver.target);
    t.after(() => fourth.dispose());
    assert.equal(links.length, 3, 'a slot frees when a link ends');
  });

  test('a call that never opens is ended after the open timeout', async (t) => {
    const receiver = await startReceiver(() => undefined, { openTimeoutMs: 200 });
    t.after(() => receiver.stop());
    const silent = new RawLink(receiver.target, insecure);
    t.after(() => silent.dispose());
    assert.equal((await silent.endWithin(2_000))?.code, grpc.status.DEADLINE_EXCEEDED);
  });

  test('bad input gets a clear status and exactly one log line, never a crash', async (t) => {
    const receiver = await startReceiver(() => undefined);
    t.after(() => receiver.stop());
    const cases: Array<{ frames: (raw: RawLink) => void; code: grpc.status; details: RegExp }> = [
      { frames: (raw) => { raw.send(open); raw.send({}); }, code: grpc.status.INVALID_ARGUMENT, details: /must carry open, batch or close/ },
      { frames: (raw) => { raw.send({ open: { ...open.open, link: '' } }); }, code: grpc.status.INVALID_ARGUMENT, details: /must name the link/ },
      { frames: (raw) => { raw.send(open); raw.send({ batch: { offset: 0, events: [] } }); }, code: grpc.status.INVALID_ARGUMENT, details: /at least one event/ },
      { frames: (raw) => { raw.send({ batch: { offset: 0, events: makeEvents(1) } }); }, code: grpc.status.FAILED_PRECONDITION, details: /first frame must be Open/ },
    ];
    for (const { frames, code, details } of cases) {
      const raw = new RawLink(receiver.target, insecure);
      const stderr = captureStderr();
      try {
        frames(raw);
        const status = await raw.endWithin(2_000);
        assert.equal(status?.code, code, status?.details);
        assert.match(status!.details, details);
        assert.equal(stderr.lines.filter((line) => line.includes('link refused')).length, 1);
      } finally {
        stderr.restore();
        raw.dispose();
      }
    }
  });
});
