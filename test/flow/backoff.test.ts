import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconnectDelay } from '../../lib/flow/backoff.js';

test('reconnect delays grow exponentially up to the cap, with full jitter', () => {
  const options = { initialMs: 100, maxMs: 5_000 };
  assert.deepEqual([0, 1, 2, 3, 10, 1000].map((failures) => reconnectDelay(failures, options, () => 1)), [100, 200, 400, 800, 5_000, 5_000]);
  assert.equal(reconnectDelay(3, options, () => 0), 0);
  assert.equal(reconnectDelay(3, options, () => 0.5), 400);
});
