import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeUpstream } from '../../lib/contract/batchEncoder.js';
import { seededRandom } from '../helpers/random.js';
import { flowService, type Event, type Upstream } from '../../lib/contract/loadContract.js';

const generic = flowService.Exchange.requestSerialize as (frame: Upstream) => Buffer;
const decode = flowService.Exchange.requestDeserialize;

const alphabet = ['a', 'Z', '0', '-', '/', ' ', 'é', 'ü', '€', '中', '😀', '\u{10FFFF}'];

function eventFrom(next: () => number, index: number): Event {
  const text = () => Array.from({ length: Math.floor(next() * (next() < 0.1 ? 200 : 30)) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
  const integer = () => {
    const roll = next();
    if (roll < 0.2) return 0;
    if (roll < 0.35) return -Math.floor(next() * Number.MAX_SAFE_INTEGER);
    if (roll < 0.5) return Number.MAX_SAFE_INTEGER - Math.floor(next() * 1000);
    return Math.floor(next() * 2 ** (1 + Math.floor(next() * 52)));
  };
  const sometimes = <T>(value: () => T): T | null | undefined => {
    const roll = next();
    return roll < 0.3 ? null : roll < 0.4 ? undefined : value();
  };
  return {
    id: `e-${index}-${text()}`, userId: text(), itemId: sometimes(text) as string, kind: 'view', eventTimeMs: integer(), priceCents: integer(),
    acceptedAtMs: sometimes(integer) as number, intakeId: sometimes(text) as string,
    profile: sometimes(() => ({ found: next() < 0.5, segment: text(), country: sometimes(text) as string, degraded: next() < 0.5 })),
    product: sometimes(() => (next() < 0.2 ? {} : { found: true, name: text(), category: text(), listPriceCents: integer() })),
    deadLetter: sometimes(() => ({ stage: text(), reason: text() })),
    priorityClass: sometimes(text) as string, producerKey: sometimes(text) as string,
  };
}

test('a Batch frame is encoded to exactly the bytes of the contract\'s generic codec, for events of every shape', () => {
  const { next } = seededRandom(20261202);
  for (let round = 0; round < 200; round += 1) {
    const events = Array.from({ length: 1 + Math.floor(next() * 40) }, (_, i) => eventFrom(next, i));
    const traceContext: Record<string, string> = next() < 0.5 ? {} : { traceparent: `00-${round}-01`, tracestate: next() < 0.5 ? 'vendor=é' : '' };
    const frame: Upstream = { batch: { offset: next() < 0.2 ? 0 : Math.floor(next() * 2 ** 53), events, traceContext } };
    const ours = encodeUpstream(frame);
    assert.ok(ours.equals(generic(frame)), `round ${round}: the bytes differ`);
    // What a hop decodes and passes on is what it received.
    const decoded = decode(ours);
    assert.ok(encodeUpstream({ batch: decoded.batch! }).equals(generic({ batch: decoded.batch! })), `round ${round}: re-encoding a decoded frame`);
  }
});

test('frames it does not write (an Open, a Close, a value of another type) are left to the generic codec, with the same result', () => {
  const open: Upstream = { open: { link: 'a->b', sender: 'a', protocolVersion: 1, minWindow: 64 } };
  assert.ok(encodeUpstream(open).equals(generic(open)));
  const close: Upstream = { close: { reason: 'done', code: 0 } };
  assert.ok(encodeUpstream(close).equals(generic(close)));
  const longAsText: Upstream = { batch: { offset: 1, events: [{ id: 'e', eventTimeMs: '1700000000000' as unknown as number }], traceContext: {} } };
  assert.ok(encodeUpstream(longAsText).equals(generic(longAsText)));
  const fraction: Upstream = { batch: { offset: 1, events: [{ id: 'e', priceCents: 1.5 }], traceContext: {} } };
  assert.ok(encodeUpstream(fraction).equals(generic(fraction)));
});

test('an unpaired surrogate, which is not UTF-8, is written as U+FFFD whatever the string\'s length', () => {
  for (const id of ['a\ud800b', `${'x'.repeat(50)}\udc00`]) {
    const decoded = decode(encodeUpstream({ batch: { offset: 0, events: [{ id }], traceContext: {} } }));
    assert.equal(decoded.batch!.events[0]!.id, id.replace(/[\ud800-\udfff]/, '\ufffd'));
  }
});
