import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findBottleneck, type HopReport } from '../../gateway/bottleneck.js';
import type { HopSnapshot } from '../../lib/telemetry/HopPressure.js';

const chain = ['gateway', 'source', 'enrichment', 'join', 'sink'];

/** A replica's report with its time shares (per mille) and what else a test gives. */
function hop(name: string, busy: number, backpressured: number, more: Partial<HopSnapshot> = {}): HopReport {
  return {
    name, replica: `${name}-1`, up: true, busy_ms_per_second: busy, backpressured_ms_per_second: backpressured, idle_ms_per_second: 1000 - busy - backpressured,
    dependency_ms_per_second: 0, event_time_lag_ms: null, events_in_per_second: 0, events_out_per_second: 0, events_in_total: 0, events_out_total: 0,
    links: [], breakers: [], faults: { slow_sink_ms: 0, slow_sink_us_per_event: 0, redis_latency_ms: 0, postgres_failure_percent: 0, enabled: false }, rss_mb: 50, ...more,
  };
}

test('nothing back-pressured: no bottleneck, however busy a hop is', () => {
  assert.equal(findBottleneck([hop('gateway', 50, 0), hop('source', 100, 0), hop('enrichment', 900, 0), hop('join', 20, 0), hop('sink', 30, 0)], chain), null);
});

test('nothing back-pressured but the intake full (the edge refuses rather than waits): the first hop busy 0.8 of its time is the bottleneck, as the recording rule has it', () => {
  const intake = (lag: number) => ({ length: 1_500, capacity: 20_000, lag, pending: 1_000, window: 500 });
  const hops = (lag: number) => [hop('gateway', 50, 0), hop('source', 300, 0, { intake: intake(lag) }), hop('enrichment', 900, 0), hop('join', 850, 0), hop('sink', 30, 0)];
  assert.deepEqual(findBottleneck(hops(480), chain), { stage: 'enrichment', replica: 'enrichment-1', reason: 'busy' }, 'unread at its window (sized by time)');
  assert.equal(findBottleneck(hops(200), chain), null, 'the intake with room: nothing holds the mesh back');
});

test('the first hop downstream of the back-pressured ones that is not back-pressured is the bottleneck; the last hop busy is commit-slow', () => {
  const hops = [hop('gateway', 10, 900), hop('source', 50, 850), hop('enrichment', 40, 900), hop('join', 30, 920), hop('sink', 950, 0)];
  assert.deepEqual(findBottleneck(hops, chain), { stage: 'sink', replica: 'sink-1', reason: 'commit-slow' });
});

test('a hop busy mostly waiting on its dependency is dependency-slow; one busy with its own work is busy', () => {
  const slowRedis = [hop('gateway', 10, 900), hop('source', 50, 850), hop('enrichment', 980, 0, { dependency_ms_per_second: 960 }), hop('join', 10, 0), hop('sink', 10, 0)];
  assert.deepEqual(findBottleneck(slowRedis, chain), { stage: 'enrichment', replica: 'enrichment-1', reason: 'dependency-slow' });
  const ownWork = [hop('gateway', 10, 900), hop('source', 50, 850), hop('enrichment', 980, 0, { dependency_ms_per_second: 100 }), hop('join', 10, 0), hop('sink', 10, 0)];
  assert.deepEqual(findBottleneck(ownWork, chain), { stage: 'enrichment', replica: 'enrichment-1', reason: 'busy' });
});

test('among replicas: one down is blamed first, then one whose breaker is open, else the busiest; a stage is back-pressured if any replica is', () => {
  const replica = (name: string, id: string, busy: number, backpressured: number, more: Partial<HopSnapshot> = {}) => ({ ...hop(name, busy, backpressured, more), replica: id }) as HopReport;
  const base = [hop('gateway', 10, 900), replica('source', 'source-a', 10, 900), replica('source', 'source-b', 400, 100)];
  const joins = [replica('join', 'join-a', 300, 0), replica('join', 'join-b', 700, 0)];
  assert.deepEqual(findBottleneck([...base, hop('enrichment', 10, 800), ...joins, hop('sink', 10, 0)], chain), { stage: 'join', replica: 'join-b', reason: 'busy' });
  const open = replica('join', 'join-a', 300, 0, { breakers: [{ dependency: 'postgres', state: 'open', failures_total: 9 }] });
  assert.deepEqual(findBottleneck([...base, hop('enrichment', 10, 800), open, joins[1]!, hop('sink', 10, 0)], chain), { stage: 'join', replica: 'join-a', reason: 'breaker-open' });
  const down: HopReport = { name: 'join', replica: '127.0.0.1:9103', up: false, error: 'connection refused' };
  assert.deepEqual(findBottleneck([...base, hop('enrichment', 10, 800), down, joins[1]!, hop('sink', 10, 0)], chain), { stage: 'join', replica: '127.0.0.1:9103', reason: 'down' });
  // Source-b is not back-pressured, but source-a is: the stage is, and the bottleneck lies further down.
  assert.equal(findBottleneck([...base, hop('enrichment', 900, 0), hop('join', 10, 0), hop('sink', 10, 0)], chain)?.stage, 'enrichment');
});

test('a hop in the middle whose back-pressure dips under the threshold is not blamed for a bottleneck further down', () => {
  const hops = [hop('gateway', 10, 700), hop('source', 100, 450), hop('enrichment', 40, 900), hop('join', 30, 920), hop('sink', 950, 0)];
  assert.deepEqual(findBottleneck(hops, chain), { stage: 'sink', replica: 'sink-1', reason: 'commit-slow' });
});
