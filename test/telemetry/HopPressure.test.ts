import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { FaultSwitches } from '../../lib/faults.js';
import { HopPressure } from '../../lib/telemetry/HopPressure.js';
import { createMetricsRegistry } from '../../lib/telemetry/prometheusMetrics.js';

test('event-time lag: from the latest event time passed on, growing with the clock only while input waits', async (t) => {
  const pressure = new HopPressure('join', new FaultSwitches(false), 'join-1');
  t.after(() => pressure.stop());
  assert.equal(pressure.snapshot().event_time_lag_ms, null, 'nothing passed on yet');
  let behind = false;
  pressure.watchBehind(() => behind);
  const eventTime = Date.now() - 2_000;
  pressure.passedOn([{ eventTimeMs: eventTime - 500 }, { eventTimeMs: eventTime }, { eventTimeMs: String(eventTime - 100) }]);
  const atPass = pressure.eventTimeLagMs()!;
  assert.ok(atPass >= 2_000 && atPass < 2_100, `${atPass} ms behind, from the latest of the batch`);
  await sleep(150);
  assert.equal(pressure.eventTimeLagMs(), atPass, 'caught up: the lag it had when it passed the batch on');
  behind = true;
  assert.ok(pressure.eventTimeLagMs()! >= atPass + 140, 'input waiting: the lag grows with the clock');
  assert.equal(pressure.snapshot().replica, 'join-1');
});

test("a hop's metrics: the sink's accept-to-commit only once it commits, the intake's families only on a hop with an intake", async (t) => {
  const sink = new HopPressure('sink', new FaultSwitches(false), 'sink-1');
  const source = new HopPressure('source', new FaultSwitches(false), 'source-1');
  t.after(() => { sink.stop(); source.stop(); });
  const sinkMetrics = createMetricsRegistry(sink);
  const sourceMetrics = createMetricsRegistry(source);
  assert.doesNotMatch(await sinkMetrics.metrics(), /mesh_sink_accept_to_commit_seconds|mesh_intake_/);
  const now = Date.now();
  sink.committed([{ eventTimeMs: now - 900, acceptedAtMs: now - 300 }, { eventTimeMs: now - 900, acceptedAtMs: now - 3_000 }]);
  const text = await sinkMetrics.metrics();
  assert.match(text, /^mesh_sink_accept_to_commit_seconds_bucket\{le="0.5",stage="sink",replica="sink-1"\} 1$/m);
  assert.match(text, /^mesh_sink_accept_to_commit_seconds_count\{stage="sink",replica="sink-1"\} 2$/m);
  assert.match(text, /^mesh_stage_batch_events_sum\{stage="sink",replica="sink-1"\} 2$/m);
  assert.match(text, /^mesh_stage_event_time_lag_seconds\{stage="sink",replica="sink-1"\} 0\.9/m);

  assert.doesNotMatch(await sourceMetrics.metrics(), /mesh_intake_length/);
  source.watchIntake(() => ({ length: 12, capacity: 100, lag: 2, pending: 10 }));
  const withIntake = await sourceMetrics.metrics();
  assert.match(withIntake, /^mesh_intake_length\{stage="source",replica="source-1"\} 12$/m);
  assert.match(withIntake, /^mesh_intake_pending\{stage="source",replica="source-1"\} 10$/m);
});
