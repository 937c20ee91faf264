import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MeshPressureReport } from '../../gateway/MeshPressure.js';
import type { HopSnapshot } from '../../lib/telemetry/HopPressure.js';
import { stageNames } from '../../lib/service/stages.js';
import { startMeshUnderTest } from '../helpers/meshHarness.js';
import { sustainedLoad } from '../helpers/sustainedLoad.js';

const gaugeNames = ['mesh_link_credit_available', 'mesh_link_in_flight_events', 'mesh_link_queue_depth', 'mesh_breaker_state'];
const counterNames = ['mesh_stage_busy_seconds_total', 'mesh_stage_backpressured_seconds_total', 'mesh_stage_idle_seconds_total'];

async function pressure(gatewayUrl: string): Promise<MeshPressureReport> {
  const response = await fetch(`${gatewayUrl}/v1/pressure`);
  assert.equal(response.status, 200);
  return response.json() as Promise<MeshPressureReport>;
}

const hop = (report: MeshPressureReport, name: string) => report.hops.find((candidate) => candidate.name === name) as HopSnapshot;

async function putFaults(gatewayUrl: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${gatewayUrl}/v1/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

test('every hop reports Flink-style time, link, breaker and intake figures as Prometheus text on its admin port, and the gateway merges them at /metrics', { timeout: 60_000 }, async (t) => {
  const run = await startMeshUnderTest();
  t.after(() => run.dispose());
  for (const stage of stageNames) {
    const text = await (await fetch(`http://${run.mesh.adminAddress(stage)}/metrics`)).text();
    assert.match(text, new RegExp(`^mesh_stage_busy_seconds_total\\{stage="${stage}",replica="[^"]+"\\} `, 'm'));
    assert.match(text, /^process_resident_memory_bytes\{/m);
  }
  const merged = await (await fetch(`${run.mesh.gatewayUrl}/metrics`)).text();
  for (const name of gaugeNames) assert.match(merged, new RegExp(`^# TYPE ${name} gauge$`, 'm'), name);
  for (const name of counterNames) assert.match(merged, new RegExp(`^# TYPE ${name} counter$`, 'm'), name);
  for (const stage of ['gateway', ...stageNames]) assert.match(merged, new RegExp(`^mesh_stage_idle_seconds_total\\{stage="${stage}",replica="[^"]+"\\} `, 'm'), stage);
  assert.match(merged, /^mesh_link_credit_available\{link="join->sink",stage="join",replica="[^"]+"\} \d+/m);
  assert.match(merged, /^mesh_link_queue_depth\{link="enrichment->join",sender="enrichment",stage="join",replica="[^"]+"\} \d+/m);
  assert.match(merged, /^mesh_breaker_state\{dependency="postgres",stage="sink",replica="[^"]+"\} 0$/m);
  assert.match(merged, /^mesh_intake_length\{stage="source",replica="[^"]+"\} \d+/m);
  assert.match(merged, /^mesh_intake_lag\{stage="source",replica="[^"]+"\} \d+/m);
  // Each metric family appears once, however many hops report it.
  const families = merged.split('\n').filter((line) => line.startsWith('# TYPE '));
  assert.equal(new Set(families).size, families.length);
});

test('the pressure API and its live stream: switching the sink slow turns the hops upstream of it back-pressured, as measured in ms per second, and the edge sheds load with 429', { timeout: 120_000 }, async (t) => {
  const run = await startMeshUnderTest({ env: { FAULT_SWITCHES: 'on', LINK_CAPACITY: '400', MAX_BATCH_EVENTS: '100', INTAKE_MAX_LENGTH: '2000' } });
  let load: ReturnType<typeof sustainedLoad> | undefined;
  let stream: Response | undefined;
  t.after(async () => {
    await stream?.body?.cancel();
    await load?.stop();
    await run.dispose();
  });
  const gatewayUrl = run.mesh.gatewayUrl;

  const idle = await pressure(gatewayUrl);
  assert.deepEqual(idle.hops.map((candidate) => candidate.name), ['gateway', 'source', 'enrichment', 'join', 'sink']);
  assert.ok(idle.hops.every((candidate) => candidate.up));
  for (const candidate of idle.hops as HopSnapshot[]) {
    const total = candidate.busy_ms_per_second + candidate.backpressured_ms_per_second + candidate.idle_ms_per_second;
    assert.ok(Math.abs(total - 1000) < 50, `${candidate.name}: busy + back-pressured + idle = ${total} ms/s`);
  }
  assert.equal(hop(idle, 'source').intake!.capacity, 2000);

  assert.equal((await putFaults(gatewayUrl, { slow_sink_ms: 'slow' })).status, 400);
  assert.equal((await putFaults(gatewayUrl, { fast_sink_ms: 1 })).status, 400);
  // More events in flight than the gateway's link holds (400): once the mesh is full, some requests get 429.
  load = sustainedLoad(gatewayUrl, `pressure-${randomBytes(4).toString('hex')}`, { clients: 6, batch: 100 });
  await sleep(3_000);
  const flowing = await pressure(gatewayUrl);
  assert.ok(hop(flowing, 'sink').events_in_per_second > 0, 'events reach the sink');
  assert.ok(hop(flowing, 'join').backpressured_ms_per_second < 500, `join back-pressured ${hop(flowing, 'join').backpressured_ms_per_second} ms/s before the fault`);

  const switched = await putFaults(gatewayUrl, { slow_sink_ms: 500 });
  assert.equal(switched.status, 200);
  assert.equal(switched.body.slow_sink_ms, 500);
  stream = await fetch(`${gatewayUrl}/v1/pressure/stream`);
  assert.equal(stream.headers.get('content-type'), 'text/event-stream');
  const reports = readPressureStream(stream.body!);
  let slowed: MeshPressureReport | undefined;
  let last: MeshPressureReport | undefined;
  const deadline = Date.now() + 30_000;
  for await (const report of reports) {
    last = report;
    if (hop(report, 'join').backpressured_ms_per_second > 700 && report.edge.requests_429_per_second > 0) { slowed = report; break; }
    if (Date.now() > deadline) break;
  }
  await stream.body!.cancel();
  assert.ok(slowed, `join turned back-pressured and the edge answered 429 within 30 s; last: ${JSON.stringify(last && { join: hop(last, 'join'), edge: last.edge })}`);
  assert.ok(hop(slowed, 'sink').busy_ms_per_second > 700, `the sink is busy ${hop(slowed, 'sink').busy_ms_per_second} ms/s`);
  assert.equal(hop(slowed, 'sink').faults.slow_sink_ms, 500);
  assert.ok(hop(slowed, 'source').intake!.length > 0);

  assert.equal((await putFaults(gatewayUrl, { slow_sink_ms: 0 })).status, 200);
  await load.stop();
  await run.mesh.services.sink.stop('SIGTERM');
  const withoutSink = await pressure(gatewayUrl);
  assert.equal(hop(withoutSink, 'sink').up, false);
  assert.ok(hop(withoutSink, 'join').up);
});

test('fault switches stay off unless the services are started with FAULT_SWITCHES=on', { timeout: 60_000 }, async (t) => {
  const run = await startMeshUnderTest();
  t.after(() => run.dispose());
  const refused = await putFaults(run.mesh.gatewayUrl, { slow_sink_ms: 500 });
  assert.equal(refused.status, 403);
  assert.match(refused.body.error, /FAULT_SWITCHES=on/);
  const direct = await fetch(`http://${run.mesh.adminAddress('sink')}/v1/faults`, { method: 'PUT', body: '{"slow_sink_ms":500}' });
  assert.equal(direct.status, 403);
  assert.equal(hop(await pressure(run.mesh.gatewayUrl), 'sink').faults.slow_sink_ms, 0);
});

/** The reports of a Server-Sent Events stream of pressure reports. */
async function* readPressureStream(body: ReadableStream<Uint8Array>): AsyncGenerator<MeshPressureReport> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
      const message = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = message.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\n');
      if (message.includes('event: pressure') && data) yield JSON.parse(data) as MeshPressureReport;
    }
  }
}
