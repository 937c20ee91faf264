import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, Environment } from '../../lib/config.js';
import { RateLimiter, readRateLimit } from '../../lib/security/RateLimiter.js';
import { TokenBucket } from '../../lib/security/TokenBucket.js';

function manualClock(): { now: () => number; advance(ms: number): void } {
  let ms = 1_000;
  return { now: () => ms, advance: (by) => { ms += by; } };
}

test('a bucket starts full, takes all or nothing, and says how many seconds until a refused count fits', () => {
  const clock = manualClock();
  const bucket = new TokenBucket(10, 50, clock.now);
  assert.equal(bucket.available, 50);
  assert.deepEqual(bucket.take(30), { taken: true });
  assert.deepEqual(bucket.take(30), { taken: false, retryAfterSeconds: 1 }, '10 short at 10/s');
  assert.equal(bucket.available, 20, 'a refusal takes nothing');
  assert.deepEqual(bucket.take(45), { taken: false, retryAfterSeconds: 3 }, '25 short at 10/s is 2.5 s, rounded up');
  assert.deepEqual(bucket.take(51), { taken: false, retryAfterSeconds: Infinity }, 'more than the capacity never fits');
});

test('tokens come back with time, lazily, never beyond the capacity', () => {
  const clock = manualClock();
  const bucket = new TokenBucket(10, 50, clock.now);
  bucket.take(50);
  clock.advance(250);
  assert.equal(bucket.available, 2.5);
  assert.deepEqual(bucket.take(3), { taken: false, retryAfterSeconds: 1 });
  clock.advance(2_750);
  assert.deepEqual(bucket.take(30), { taken: true });
  clock.advance(60_000);
  assert.equal(bucket.available, 50);
  clock.advance(-5_000);
  assert.equal(bucket.available, 50, 'a clock that steps back neither adds nor removes tokens');
});

test('a refund gives tokens back, up to the capacity', () => {
  const clock = manualClock();
  const bucket = new TokenBucket(1, 10, clock.now);
  bucket.take(8);
  bucket.refund(5);
  assert.equal(bucket.available, 7);
  bucket.refund(100);
  assert.equal(bucket.available, 10);
});

test('the rate limiter has one bucket per configured caller and none for anyone else', () => {
  const clock = manualClock();
  const limiter = new RateLimiter({ eventsPerSecond: 5, burst: 10 }, ['alice', 'bob'], clock.now);
  assert.deepEqual(limiter.bucketOf('alice').take(10), { taken: true });
  assert.equal(limiter.bucketOf('alice').take(1).taken, false);
  assert.equal(limiter.bucketOf('bob').take(10).taken, true, 'another caller has a bucket of its own');
  assert.throws(() => limiter.bucketOf('mallory'));
});

test('the rate limit is read from the environment: off when unset, the burst defaults to one second of the rate', () => {
  assert.equal(readRateLimit(new Environment({})), undefined);
  assert.deepEqual(readRateLimit(new Environment({ GATEWAY_RATE_LIMIT_EVENTS_PER_S: '200' })), { eventsPerSecond: 200, burst: 200 });
  assert.deepEqual(readRateLimit(new Environment({ GATEWAY_RATE_LIMIT_EVENTS_PER_S: '200', GATEWAY_RATE_LIMIT_BURST: '1000' })), { eventsPerSecond: 200, burst: 1000 });
  assert.throws(() => readRateLimit(new Environment({ GATEWAY_RATE_LIMIT_BURST: '1000' })), (error: unknown) => error instanceof ConfigError && /GATEWAY_RATE_LIMIT_BURST/.test(error.message));
  const env = new Environment({ GATEWAY_RATE_LIMIT_EVENTS_PER_S: 'fast' });
  readRateLimit(env);
  assert.throws(() => env.done(), /GATEWAY_RATE_LIMIT_EVENTS_PER_S must be an integer/);
});
