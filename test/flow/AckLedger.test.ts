import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckLedger } from '../../lib/flow/AckLedger.js';

const settled = async (promise: Promise<void>) => Promise.race([promise.then(() => 'acknowledged', () => 'rejected'), new Promise((resolve) => setImmediate(() => resolve('pending')))]);

test('a send is acknowledged once the cumulative ack reaches its end, in the order sends were made', async () => {
  const ledger = new AckLedger();
  const first = ledger.record(10);
  const second = ledger.record(25);
  ledger.acknowledge(12);
  assert.equal(await settled(first), 'acknowledged');
  assert.equal(await settled(second), 'pending');
  ledger.acknowledge(25);
  assert.equal(await settled(second), 'acknowledged');
  assert.equal(await settled(ledger.record(20)), 'acknowledged', 'what was acknowledged already is at once');
});

test('the end of the connection rejects what is awaited and anything recorded later', async () => {
  const ledger = new AckLedger();
  const waiting = ledger.record(5);
  ledger.end(new Error('link reset'));
  await assert.rejects(waiting, /link reset/);
  await assert.rejects(ledger.record(6), /link reset/);
});
