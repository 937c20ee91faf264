import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckTracker } from '../../lib/flow/AckTracker.js';

test('out-of-order completions advance the acknowledgement only over a done prefix', () => {
  const tracker = new AckTracker(10);
  const first = tracker.track(10);
  const second = tracker.track(25);
  const third = tracker.track(30);
  assert.equal(third(), undefined);
  assert.equal(tracker.acknowledged, 0);
  assert.equal(first(), 10);
  assert.equal(second(), 30);
  assert.equal(tracker.pending, 0);
});

test('completing twice changes nothing', () => {
  const tracker = new AckTracker(10);
  const only = tracker.track(5);
  assert.equal(only(), 5);
  assert.equal(only(), undefined);
  assert.equal(tracker.acknowledged, 5);
});

test('the number of pending deliveries is bounded', () => {
  const tracker = new AckTracker(2);
  tracker.track(1);
  tracker.track(2);
  assert.equal(tracker.full, true);
  assert.throws(() => tracker.track(3));
});
