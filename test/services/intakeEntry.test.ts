import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Event } from '../../lib/contract/loadContract.js';
import { decodeIntakeEntry, intakeEntryFields } from '../../services/source/intakeEntry.js';

test('an intake entry round-trips every field of its events, dead letters, accepted times, classes and keys included, and the trace context of its delivery', () => {
  const events: Event[] = [
    { id: 'e1', userId: 'u1', itemId: 'i1', kind: 'view', eventTimeMs: 1_700_000_000_001, priceCents: 2 ** 53 - 1, acceptedAtMs: 1_700_000_000_500, priorityClass: 'view', producerKey: 'shop' },
    { id: '', userId: 'u\u00e9', itemId: 'i2', kind: 'jump', eventTimeMs: 1, priceCents: 0, acceptedAtMs: 1_700_000_000_501, deadLetter: { stage: 'source', reason: 'invalid kind' }, priorityClass: '', producerKey: '' },
  ];
  const traceContext = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=1' };
  const fields = intakeEntryFields(events, traceContext);
  const entry = decodeIntakeEntry('1700000000000-7', fields);
  assert.equal(entry.count, 2);
  assert.deepEqual(entry.traceContext, traceContext);
  assert.deepEqual(entry.events, [
    { ...events[0], intakeId: '1700000000000-7/0', profile: null, product: null, deadLetter: null },
    { ...events[1], intakeId: '1700000000000-7/1', profile: null, product: null },
  ]);
  // As Redis gives the fields back: buffers.
  assert.deepEqual(decodeIntakeEntry('1-0', fields.map((field) => Buffer.from(field))).events.map((event) => event.id), ['e1', '']);
  assert.equal(decodeIntakeEntry('1-0', intakeEntryFields(events, {})).traceContext, undefined, 'an unsampled delivery carries none');
});

test('an entry that is not a batch of events flows on as one dead letter of the source, counted as written', () => {
  for (const fields of [['e', 'garbage that is not JSON'], ['n', '3', 'b', 'not a frame at all'], ['b', Buffer.from([0x12, 0x00])]]) {
    const entry = decodeIntakeEntry('5-0', fields);
    assert.equal(entry.events.length, 1);
    assert.equal(entry.events[0]!.intakeId, '5-0/0');
    assert.equal(entry.events[0]!.deadLetter?.stage, 'source');
    assert.match(entry.events[0]!.deadLetter!.reason, /^intake entry is not a valid event: /);
    assert.equal(entry.count, fields[0] === 'n' ? 3 : 1);
  }
});
