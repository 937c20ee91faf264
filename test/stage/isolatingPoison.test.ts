import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { Event, Event__Output } from '../../lib/contract/loadContract.js';
import { isolatingPoison } from '../../lib/stage/isolatePoison.js';
import { makeEvents } from '../helpers/events.js';

const live = new AbortController().signal;
const asOutput = (events: Event[]) => events.map((event) => ({ acceptedAtMs: 0, intakeId: '', profile: null, product: null, deadLetter: null, ...event })) as Event__Output[];

test('a hop that passes events on: rule breakers and the event that throws become dead letters of the stage, the rest goes on in one call', async () => {
  const seen: string[][] = [];
  const events = asOutput(makeEvents(6));
  events[1] = { ...events[1]!, kind: 'x' };
  events[4] = { ...events[4]!, userId: 'throws' };
  events[5] = { ...events[5]!, deadLetter: { stage: 'source', reason: 'earlier' } };
  const process = isolatingPoison('enrichment', async (batch) => {
    seen.push(batch.map((event) => event.id));
    if (batch.some((event) => event.userId === 'throws')) throw new Error('lookup failed for this user');
    return batch;
  }, true);
  const out = await process(events, ROOT_CONTEXT, live);
  assert.deepEqual(seen[0], [events[0]!.id, events[2]!.id, events[3]!.id, events[4]!.id], 'the rule breaker and the dead letter never reach the hop');
  const dead = new Map(out.filter((event) => event.deadLetter).map((event) => [event.id, event.deadLetter]));
  assert.deepEqual(dead.get(events[1]!.id), { stage: 'enrichment', reason: 'invalid kind: one of view, click, cart, purchase' });
  assert.deepEqual(dead.get(events[4]!.id), { stage: 'enrichment', reason: 'lookup failed for this user' });
  assert.deepEqual(dead.get(events[5]!.id), { stage: 'source', reason: 'earlier' }, 'a dead letter passes through untouched');
  assert.equal(out.length, 6, 'nothing is lost');
});

test('the last hop writes its dead letters itself, and a batch given up on stop is not split', async () => {
  const written: Event[][] = [];
  const events = asOutput(makeEvents(4));
  events[2] = { ...events[2]!, itemId: 'refused' };
  const process = isolatingPoison('sink', async (batch) => {
    if (batch.some((event) => event.itemId === 'refused' && !event.deadLetter)) throw new Error('the database refused it');
    written.push(batch);
    return [];
  }, false);
  await process(events, ROOT_CONTEXT, live);
  const deadLetters = written.flat().filter((event) => event.deadLetter);
  assert.deepEqual(deadLetters.map((event) => [event.id, event.deadLetter!.reason]), [[events[2]!.id, 'the database refused it']]);
  assert.equal(written.flat().length, 4);

  const stopped = new AbortController();
  stopped.abort(new Error('stopping'));
  let calls = 0;
  const held = isolatingPoison('sink', async () => { calls += 1; throw new Error('stopping'); }, false);
  await assert.rejects(held(events, ROOT_CONTEXT, stopped.signal), /stopping/);
  assert.equal(calls, 1);
});
