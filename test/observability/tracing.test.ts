import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMeshUnderTest } from '../helpers/meshHarness.js';
import { wireEvents } from '../helpers/httpEvents.js';
import { startOtlpReceiver, type ReceivedSpan } from '../helpers/otlpReceiver.js';
import { sustainedLoad } from '../helpers/sustainedLoad.js';

const producer = 4;
const consumer = 5;

function tracingEnv(receiverUrl: string, sampler: Record<string, string>): Record<string, string> {
  return {
    OTEL_SDK_DISABLED: 'false',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    ...sampler,
  };
}

async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('rule 6: a sampled batch\'s trace crosses every hop, gateway → source → enrichment → join → sink → commit, each span the child of the one before', { timeout: 90_000 }, async (t) => {
  const receiver = await startOtlpReceiver();
  // Nothing is sampled but what the caller asks for: its traceparent carries the sampled flag.
  const run = await startMeshUnderTest({ env: tracingEnv(receiver.url, { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }) });
  t.after(async () => { await run.dispose(); await receiver.close(); });
  const runId = `trace-${randomBytes(4).toString('hex')}`;
  const traceId = randomBytes(16).toString('hex');
  const callerSpanId = randomBytes(8).toString('hex');

  const unsampled = await fetch(`${run.mesh.gatewayUrl}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(wireEvents(20, `${runId}-u`)) });
  assert.equal(unsampled.status, 202);
  const sampled = await fetch(`${run.mesh.gatewayUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${callerSpanId}-01` },
    body: JSON.stringify(wireEvents(20, runId)),
  });
  assert.equal(sampled.status, 202);

  const inTrace = () => receiver.spans.filter((span) => span.traceId === traceId);
  const commit = await waitFor('the commit span at the sink', () => inTrace().find((span) => span.service === 'sink' && span.name === 'INSERT events'));
  const spans = inTrace();
  const byId = new Map(spans.map((span) => [span.spanId, span]));
  const chain: ReceivedSpan[] = [];
  for (let span: ReceivedSpan | undefined = commit; span; span = byId.get(span.parentSpanId)) chain.unshift(span);

  assert.deepEqual(chain.map((span) => `${span.service}: ${span.name}`), [
    'gateway: POST /v1/events',
    'gateway: send gateway->source',
    'source: process source',
    'source: send source->enrichment',
    'enrichment: process enrichment',
    'enrichment: send enrichment->join',
    'join: process join',
    'join: send join->sink',
    'sink: process sink',
    'sink: INSERT events',
  ]);
  assert.equal(chain[0]!.parentSpanId, callerSpanId, 'the gateway continues the caller\'s trace');
  assert.deepEqual(chain.filter((span) => span.name.startsWith('send ')).map((span) => span.kind), [producer, producer, producer, producer]);
  assert.deepEqual(chain.filter((span) => span.name.startsWith('process ')).map((span) => span.kind), [consumer, consumer, consumer, consumer]);
  const sentToSink = chain.find((span) => span.name === 'send join->sink')!;
  assert.equal(sentToSink.attributes['messaging.destination.name'], 'join->sink');
  // The source batches what it reads from the intake: the 20 events may travel in more than one batch, or with others.
  const batchSize = sentToSink.attributes['messaging.batch.message_count'] as number;
  assert.ok(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 40, `batch of ${batchSize}`);
  assert.equal(typeof sentToSink.attributes['mesh.credit.available'], 'number');
  const processedAtJoin = chain.find((span) => span.name === 'process join')!;
  assert.equal(typeof processedAtJoin.attributes['mesh.queue.depth'], 'number');
  assert.equal(processedAtJoin.attributes['mesh.breaker.state'], 'postgres:closed');
  // The Redis calls are children of the batches they serve.
  assert.ok(spans.some((span) => span.service === 'source' && span.name === 'XADD' && byId.get(span.parentSpanId)?.name === 'process source'));
  assert.ok(spans.some((span) => span.service === 'enrichment' && span.name === 'MGET' && span.attributes['db.system.name'] === 'redis'));
  assert.equal(commit.attributes['db.system.name'], 'postgresql');
  // The unsampled request left no trace at all.
  await sleep(1_000);
  assert.equal(new Set(receiver.spans.map((span) => span.traceId)).size, 1);
});

test('rule 6: with the sink slowed, the batches wait for credit at the hop just upstream of the sink, and each wait is a credit.wait span of its batch\'s trace', { timeout: 120_000 }, async (t) => {
  const receiver = await startOtlpReceiver();
  const run = await startMeshUnderTest({
    env: { ...tracingEnv(receiver.url, { OTEL_TRACES_SAMPLER: 'parentbased_always_on' }), LINK_CAPACITY: '400', MAX_BATCH_EVENTS: '100' },
    serviceEnv: { sink: { SINK_DELAY_MS: '300', STAGE_CONCURRENCY: '1' } },
  });
  t.after(async () => { await run.dispose(); await receiver.close(); });
  const load = sustainedLoad(run.mesh.gatewayUrl, `slow-${randomBytes(4).toString('hex')}`, { clients: 3, batch: 100 });
  await sleep(8_000);
  await load.stop();
  await sleep(1_000);

  const waits = receiver.spans.filter((span) => span.name === 'credit.wait');
  const waitedMs = (service: string) => waits.filter((span) => span.service === service).reduce((sum, span) => sum + span.endMs - span.startMs, 0);
  const atJoin = waits.filter((span) => span.service === 'join');
  assert.ok(atJoin.length > 0, `credit.wait spans at join: ${atJoin.length}`);
  assert.ok(atJoin.every((span) => span.attributes['messaging.destination.name'] === 'join->sink'));
  const windows = atJoin.map((span) => span.attributes['mesh.credit.window']);
  assert.ok(windows.every((window) => typeof window === 'number' && window >= 100 && window <= 400), `each records the window in force: the sink's, from one batch up to its capacity (${[...new Set(windows)].join(', ')})`);
  assert.ok(waitedMs('join') > 1_000, `join waited ${waitedMs('join')} ms for the sink's credit`);
  assert.equal(waitedMs('sink'), 0, 'the sink has no downstream to wait for');
  // Each wait belongs to the trace of the batch that waited: its parent is the span that sent that batch to join.
  const byId = new Map(receiver.spans.map((span) => [span.spanId, span]));
  const parented = atJoin.filter((span) => byId.get(span.parentSpanId)?.name === 'send enrichment->join');
  assert.ok(parented.length > 0 && parented.every((span) => byId.get(span.parentSpanId)!.traceId === span.traceId));
});
