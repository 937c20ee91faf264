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
  assert.deepEqual(switches.update({ redis_latency_ms: 20 }), { slow_sink_ms: 5, slow_sink_us_per_event: 0, redis_latency_ms: 20, postgres_failure_percent: 0 });
  assert.throws(() => switches.update({ slow_sink_us_per_event: 100_001 }), /slow_sink_us_per_event must be an integer from 0 to 100000/);
});

test('the slow sink waits its time per batch plus its time per event, so a smaller batch is slowed less', async () => {
  const switches = new FaultSwitches(true, { slow_sink_ms: 20, slow_sink_us_per_event: 1_000 });
  const elapsed = async (events: number) => {
    const started = performance.now();
    await switches.slowSink(events);
    return performance.now() - started;
  };
  const small = await elapsed(10);
  const large = await elapsed(200);
  assert.ok(small >= 29 && small < 150, `10 events: 20 ms + 10 × 1 ms, took ${small.toFixed(1)} ms`);
  assert.ok(large >= 219, `200 events: 20 ms + 200 × 1 ms, took ${large.toFixed(1)} ms`);
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
