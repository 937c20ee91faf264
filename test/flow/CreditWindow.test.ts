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
  const waiting = window.whenFree().then(() => { woken = true; });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(woken, false);
  window.grant(1);
  await waiting;
  assert.equal(woken, true);
});

test('closing the window rejects its waiters and every later wait', async () => {
  const window = new CreditWindow();
  const waiting = window.whenFree();
  window.close(new Error('reset'));
  await assert.rejects(waiting, /reset/);
  await assert.rejects(window.whenFree(), /reset/);
});

test('reserved credit is spoken for: a reservation takes only free credit, spends first from itself, and what it gives back is free again', async () => {
  const window = new CreditWindow();
  window.grant(10);
  assert.equal(await window.reserve(6), 6);
  assert.equal(window.free, 4);
  assert.equal(window.tryReserve(5), false, 'only 4 are free');
  assert.equal(window.tryReserve(4), true);
  assert.equal(window.free, 0);
  let reserved = false;
  const waiting = window.reserve(3).then((events) => { reserved = true; return events; });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(reserved, false, 'a reservation waits while nothing is free');
  assert.equal(window.spend(5, 6), 5, 'spent out of a reservation of 6');
  window.release(1);
  assert.equal(await waiting, 1, 'the released event goes to the waiting reservation');
  assert.equal(window.available, 5);
  window.close(new Error('reset'));
  assert.equal(window.free, 0, 'a closed window holds no credit, reserved or not');
  await assert.rejects(window.reserve(1), /reset/);
});

test('a reservation that waits gives up when its signal aborts', async () => {
  const window = new CreditWindow();
  const stop = new AbortController();
  const waiting = window.reserve(1, stop.signal);
  stop.abort(new Error('stopping'));
  await assert.rejects(waiting, /stopping/);
  window.grant(1);
  assert.equal(window.free, 1, 'the aborted reservation took nothing');
});
