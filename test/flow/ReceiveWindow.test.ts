import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { ReceiveWindow } from '../../lib/flow/ReceiveWindow.js';
import { ProtocolError } from '../../lib/flow/ProtocolError.js';

test('the opening grant is the whole capacity', () => {
  const window = new ReceiveWindow(100, 25);
  assert.equal(window.openingGrant(), 100);
  assert.equal(window.outstanding, 100);
});

test('freed space is granted back only in chunks', () => {
  const window = new ReceiveWindow(100, 25);
  window.openingGrant();
  window.admit(60);
  const grants = Array.from({ length: 60 }, () => window.release(1)).filter((grant) => grant > 0);
  assert.deepEqual(grants, [25, 25]);
  assert.equal(window.outstanding, 40 + 50);
  assert.equal(window.buffered, 0);
});

test('admitting more than is outstanding is RESOURCE_EXHAUSTED and buffers nothing', () => {
  const window = new ReceiveWindow(10, 5);
  window.openingGrant();
  window.admit(4);
  assert.throws(() => window.admit(7), (error: unknown) => error instanceof ProtocolError && error.code === status.RESOURCE_EXHAUSTED);
  assert.equal(window.buffered, 4);
});

test('capacity and chunk are validated', () => {
  assert.throws(() => new ReceiveWindow(0, 1), RangeError);
  assert.throws(() => new ReceiveWindow(10, 11), RangeError);
  assert.throws(() => new ReceiveWindow(10, 0), RangeError);
});
