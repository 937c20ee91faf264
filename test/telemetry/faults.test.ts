import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultSettingsError, FaultSwitches, InjectedFault } from '../../lib/faults.js';
import { Breaker } from '../../lib/breaker.js';

test('fault switches: off unless enabled, and every value checked before any is applied', () => {
  assert.throws(() => new FaultSwitches(false).update({ slow_sink_ms: 10 }), /FAULT_SWITCHES=on/);
  const switches = new FaultSwitches(true, { slow_sink_ms: 5 });
  assert.throws(() => switches.update({ slow_sink_ms: 100, postgres_failure_percent: 101 }), FaultSettingsError);
  assert.throws(() => switches.update({ slow_sink: 100 }), /unknown fault switch "slow_sink"/);
  assert.throws(() => switches.update([1]), /JSON object/);
  assert.equal(switches.settings.slow_sink_ms, 5);
  assert.deepEqual(switches.update({ redis_latency_ms: 20 }), { slow_sink_ms: 5, redis_latency_ms: 20, postgres_failure_percent: 0 });
});

test('the Postgres failure switch fails calls through the breaker as a failing database would, and opens it', async () => {
  const switches = new FaultSwitches(true, { postgres_failure_percent: 100 });
  const breaker = new Breaker('postgres', { timeoutMs: 1_000, errorThresholdPercentage: 50, resetTimeoutMs: 10_000, volumeThreshold: 3 }, () => false, switches);
  let called = 0;
  for (let i = 0; i < 3; i += 1) await assert.rejects(breaker.fire('SELECT', async () => { called += 1; }), InjectedFault);
  assert.equal(called, 0);
  assert.equal(breaker.failures, 3);
  assert.equal(breaker.state, 'open');
  breaker.shutdown();
});

test('the Redis latency switch delays every Redis call by its value', async () => {
  const switches = new FaultSwitches(true, { redis_latency_ms: 80 });
  const breaker = new Breaker('redis', { timeoutMs: 1_000, errorThresholdPercentage: 50, resetTimeoutMs: 1_000, volumeThreshold: 3 }, () => false, switches);
  const started = performance.now();
  assert.equal(await breaker.fire('GET', async () => 'value'), 'value');
  assert.ok(performance.now() - started >= 75);
  breaker.shutdown();
});
