import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { CreditWindow } from '../../lib/flow/CreditWindow.js';
import { MAX_CREDIT, ProtocolError } from '../../lib/flow/ProtocolError.js';

test('grants add up and spending never exceeds them', () => {
  const window = new CreditWindow();
  window.grant(3);
  window.grant(4);
  assert.equal(window.available, 7);
  assert.equal(window.spend(10), 7);
  assert.equal(window.spend(1), 0);
  assert.deepEqual([window.granted, window.spent, window.available], [7, 7, 0]);
});

test('a grant of 0, a negative or fractional grant, or one above 2^31-1 is INVALID_ARGUMENT', () => {
  for (const grant of [0, -1, 1.5, MAX_CREDIT + 1]) {
    const window = new CreditWindow();
    assert.throws(() => window.grant(grant), (error: unknown) => error instanceof ProtocolError && error.code === status.INVALID_ARGUMENT);
    assert.equal(window.available, 0);
  }
});

test('outstanding credit above 2^31-1 is INVALID_ARGUMENT and leaves the window unchanged', () => {
  const window = new CreditWindow();
  window.grant(MAX_CREDIT);
  assert.throws(() => window.grant(1), (error: unknown) => error instanceof ProtocolError && error.code === status.INVALID_ARGUMENT);
  assert.equal(window.available, MAX_CREDIT);
});

test('a waiter is woken by the next grant, not by a timer', async () => {
  const window = new CreditWindow();
  let woken = false;
  const waiting = window.whenAvailable().then(() => { woken = true; });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(woken, false);
  window.grant(1);
  await waiting;
  assert.equal(woken, true);
});

test('closing the window rejects its waiters and every later wait', async () => {
  const window = new CreditWindow();
  const waiting = window.whenAvailable();
  window.close(new Error('reset'));
  await assert.rejects(waiting, /reset/);
  await assert.rejects(window.whenAvailable(), /reset/);
});
