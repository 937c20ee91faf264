import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Breaker } from '../lib/breaker.js';
import { createRedis } from '../lib/storage/redis.js';
import { ProfileStore } from '../services/enrichment/ProfileStore.js';

const settings = { timeoutMs: 500, errorThresholdPercentage: 50, resetTimeoutMs: 200, volumeThreshold: 2 };

test('hold: while the dependency fails, the breaker opens and only its half-open probes reach it; the call completes when it recovers', async () => {
  const breaker = new Breaker('flaky', settings);
  let calls = 0;
  const healthyAt = Date.now() + 1_000;
  const result = await breaker.hold('call', async () => {
    calls += 1;
    if (Date.now() < healthyAt) throw new Error('down');
    return 'up';
  });
  assert.equal(result, 'up');
  assert.equal(breaker.state, 'closed');
  // About one probe per reset interval (200 ms) over one second, plus the calls that opened it: not a storm.
  assert.ok(calls >= 3 && calls <= 12, `${calls} calls reached the dependency`);
  breaker.shutdown();
});

test('hold gives up when its signal aborts', async () => {
  const breaker = new Breaker('dead', settings);
  const stop = new AbortController();
  setTimeout(() => stop.abort(new Error('stopping')), 300);
  await assert.rejects(breaker.hold('call', () => Promise.reject(new Error('down')), { signal: stop.signal }), /stopping/);
  breaker.shutdown();
});

test('enrichment in degrade mode passes events on with the profile marked degraded while Redis is unreachable', async () => {
  const unreachable = createRedis('redis://127.0.0.1:1', { name: 'unreachable' });
  const breaker = new Breaker('redis', settings);
  const store = new ProfileStore(unreachable, 'x:', breaker, 'degrade');
  const profiles = await store.lookup(['user-1', 'user-2']);
  assert.deepEqual(profiles.get('user-1'), { found: false, segment: '', country: '', degraded: true });
  assert.equal(profiles.size, 2);
  unreachable.disconnect();
  breaker.shutdown();
});
