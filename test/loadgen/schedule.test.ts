import { test } from 'node:test';
import assert from 'node:assert/strict';
import { offeredBy, rateAt } from '../../bench/loadgen/schedule.js';

const withBurst = { rate: 1000, burst: { rate: 5000, startS: 2, lengthS: 1.5 } };

test('the burst replaces the rate from START for LENGTH seconds', () => {
  assert.deepEqual([0, 1.99, 2, 3.49, 3.5, 10].map((s) => rateAt(withBurst, s)), [1000, 1000, 5000, 5000, 1000, 1000]);
});

test('events offered are the integral of the rate, across the step', () => {
  assert.equal(offeredBy(withBurst, 0), 0);
  assert.equal(offeredBy(withBurst, 2), 2000);
  assert.equal(offeredBy(withBurst, 3), 2000 + 5000);
  assert.equal(offeredBy(withBurst, 4), 2000 + 7500 + 500);
  assert.equal(offeredBy({ rate: 200 }, 2.5), 500);
});

test('a burst of rate 0 is a pause', () => {
  const pause = { rate: 100, burst: { rate: 0, startS: 1, lengthS: 1 } };
  assert.equal(offeredBy(pause, 1.5), 100);
  assert.equal(offeredBy(pause, 3), 200);
});
