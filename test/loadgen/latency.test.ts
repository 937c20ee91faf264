import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyHistogram } from '../../bench/loadgen/latency.js';

function histogramOf(values: number[]): LatencyHistogram {
  const histogram = new LatencyHistogram();
  for (const value of values) histogram.record(value);
  return histogram;
}

function assertWithinOnePercentAbove(actual: number | undefined, expected: number) {
  assert.ok(actual !== undefined && actual >= expected && actual <= expected * 1.01, `${actual} is not within 1% above ${expected}`);
}

test('nearest-rank percentiles of 1..100 ms, in any order', () => {
  const values = Array.from({ length: 100 }, (_, index) => index + 1).sort(() => Math.random() - 0.5);
  const histogram = histogramOf(values);
  assertWithinOnePercentAbove(histogram.percentile(50), 50);
  assertWithinOnePercentAbove(histogram.percentile(90), 90);
  assertWithinOnePercentAbove(histogram.percentile(99), 99);
  assert.equal(histogram.percentile(100), 100);
  assertWithinOnePercentAbove(histogram.percentile(0), 1);
});

test('p99 of 1000 samples is the 990th smallest, so one slow outlier in a hundred does not hide', () => {
  const values = [...Array<number>(989).fill(2), ...Array<number>(11).fill(250)];
  assert.equal(histogramOf(values).percentile(99), 250);
  assert.equal(histogramOf(values.slice(1)).percentile(99), 250);
  assertWithinOnePercentAbove(histogramOf([...Array<number>(990).fill(2), ...Array<number>(10).fill(250)]).percentile(99), 2);
});

test('a single value is every percentile, exactly', () => {
  const histogram = histogramOf([3.7]);
  for (const percent of [1, 50, 99, 100]) assert.equal(histogram.percentile(percent), 3.7);
});

test('sub-resolution and very large values stay in range', () => {
  assert.equal(histogramOf([0, 0.001]).percentile(100), 0.001);
  assert.equal(histogramOf([7_200_000]).percentile(50), 7_200_000);
});

test('empty, and empty again after reset', () => {
  const histogram = histogramOf([5]);
  histogram.reset();
  assert.equal(histogram.count, 0);
  assert.equal(histogram.percentile(50), undefined);
  histogram.record(9);
  assert.equal(histogram.percentile(50), 9);
});
