import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeUpstream } from '../../lib/contract/batchDecoder.js';
import { seededRandom } from '../helpers/random.js';
import { flowService, type Event, type Upstream } from '../../lib/contract/loadContract.js';

const encode = flowService.Exchange.requestSerialize as (frame: Upstream) => Buffer;
const generic = flowService.Exchange.requestDeserialize;

const alphabet = ['a', 'Z', '0', '-', '/', 'é', '€', '中', '😀'];

function eventFrom(next: () => number, index: number): Event {
  const text = () => Array.from({ length: Math.floor(next() * 30) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
  const integer = () => (next() < 0.2 ? 0 : next() < 0.3 ? -Math.floor(next() * Number.MAX_SAFE_INTEGER) : Math.floor(next() * 2 ** (1 + Math.floor(next() * 52))));
  const maybe = <T>(value: () => T): T | undefined => (next() < 0.4 ? undefined : value());
  return {
    id: `e-${index}`, userId: maybe(text), itemId: maybe(text), kind: maybe(text), eventTimeMs: maybe(integer), priceCents: maybe(integer), acceptedAtMs: maybe(integer),
    intakeId: maybe(text), priorityClass: maybe(text), producerKey: maybe(text),
    profile: maybe(() => ({ found: next() < 0.5, segment: maybe(text), country: maybe(text), degraded: maybe(() => next() < 0.5) })),
    product: maybe(() => ({ found: maybe(() => next() < 0.5), name: maybe(text), category: maybe(text), listPriceCents: maybe(integer) })),
    deadLetter: maybe(() => ({ stage: maybe(text), reason: maybe(text) })),
  };
}

function frameFrom(next: () => number): Buffer {
  const events = Array.from({ length: 1 + Math.floor(next() * 20) }, (_, i) => eventFrom(next, i));
  const traceContext: Record<string, string> = next() < 0.5 ? {} : { traceparent: `00-${Math.floor(next() * 1e9)}-01`, vendor: 'é' };
  return encode({ batch: { offset: Math.floor(next() * 2 ** 53), events, traceContext } });
}

/** What the generic codec makes of `bytes`, or the error it throws. */
const outcome = (decode: (bytes: Buffer) => unknown, bytes: Buffer) => {
  try {
    return { decoded: decode(bytes) };
  } catch (error) {
    return { threw: (error as Error).message };
  }
};

test('a Batch frame decodes to exactly what the contract\'s generic codec makes of it, for events of every shape', () => {
  const { next } = seededRandom(7);
  for (let round = 0; round < 300; round += 1) {
    const bytes = frameFrom(next);
    assert.deepStrictEqual(decodeUpstream(bytes), generic(bytes), `round ${round}`);
  }
  const open = encode({ open: { link: 'a->b', sender: 'a', protocolVersion: 1, minWindow: 0 } });
  assert.deepStrictEqual(decodeUpstream(open), generic(open));
});

test('bytes that are not a well-formed Batch (unknown fields, wrong wire types, a message twice, flipped or cut bytes) read as the generic codec reads them, or fail as it does', () => {
  const { next } = seededRandom(11);
  const unknownField = Buffer.from([0xa0, 0x06, 0x2a]); // field 100, a varint: skipped by both
  for (let round = 0; round < 3_000; round += 1) {
    const valid = frameFrom(next);
    const bytes = Buffer.from(valid);
    const damage = next();
    if (damage < 0.45) {
      for (let flips = 1 + Math.floor(next() * 3); flips > 0; flips -= 1) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
    } else if (damage < 0.6) {
      const cut = bytes.subarray(0, Math.floor(next() * bytes.length));
      assert.deepStrictEqual(outcome(decodeUpstream, cut), outcome(generic, cut), `round ${round}: cut`);
      continue;
    } else if (damage < 0.8) {
      // Appended to an event: an unknown field (skipped by both), its field 1 as a varint, a profile twice (merged by the generic codec).
      const inner = encode({ batch: { offset: 1, events: [{ id: 'x' }], traceContext: {} } });
      for (const extra of [unknownField, Buffer.from([0x08, 0x05]), Buffer.from([0x4a, 0x02, 0x08, 0x01, 0x4a, 0x02, 0x10, 0x00])]) {
        const event = Buffer.concat([inner.subarray(inner.length - 3), extra]);
        const batch = Buffer.concat([Buffer.from([0x08, 0x01, 0x12, event.length]), event]);
        const frame = Buffer.concat([Buffer.from([0x12, batch.length]), batch]);
        assert.deepStrictEqual(outcome(decodeUpstream, frame), outcome(generic, frame), `extra ${extra.toString('hex')}`);
      }
      continue;
    }
    assert.deepStrictEqual(outcome(decodeUpstream, bytes), outcome(generic, bytes), `round ${round}: ${bytes.toString('hex').slice(0, 200)}`);
  }
});
