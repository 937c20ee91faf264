import { test } from 'node:test';
import assert from 'node:assert/strict';
import { propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { contextOf } from '../../lib/telemetry/batchSpans.js';

propagation.setGlobalPropagator(new W3CTraceContextPropagator());

test('a batch continues a valid traceparent; an invalid one, like none, is an unsampled parent and starts no trace of its own', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const valid = trace.getSpanContext(contextOf({ traceparent: `00-${traceId}-00f067aa0ba902b7-01` }));
  assert.equal(valid?.traceId, traceId);
  assert.equal(valid?.traceFlags, 1);
  const carriers: Array<Record<string, string>> = [{}, { traceparent: 'garbage' }, { traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` }];
  for (const carrier of carriers) {
    const parent = trace.getSpanContext(contextOf(carrier));
    assert.ok(parent, `a parent for ${JSON.stringify(carrier)}`);
    assert.equal(parent.traceFlags, 0, `not sampled: ${JSON.stringify(carrier)}`);
  }
});
