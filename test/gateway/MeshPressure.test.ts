import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultSwitches } from '../../lib/faults.js';
import { stageNames, type StageName } from '../../lib/service/stages.js';
import { HopPressure } from '../../lib/telemetry/HopPressure.js';
import { createMetricsRegistry } from '../../lib/telemetry/prometheusMetrics.js';
import { EdgeTraffic } from '../../gateway/EdgeTraffic.js';
import { MeshPressure } from '../../gateway/MeshPressure.js';

/** An admin API as another program might serve it: `routes` maps a path to the body it answers. */
async function startAdmin(routes: Record<string, string>): Promise<{ address: string; server: Server }> {
  const server = createServer((request, response) => {
    const body = routes[request.url ?? ''];
    response.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    response.end(body ?? '{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

test('the gateway reads hops\' admin APIs defensively: a wrong report is shown down with why, an oversized one is not read, and bad metrics leave the others\' figures intact', async (t) => {
  const own = new HopPressure('gateway', new FaultSwitches(false));
  t.after(() => own.stop());
  const registry = createMetricsRegistry(own);
  const sinkMetrics = await createMetricsRegistry(new HopPressure('sink', new FaultSwitches(false))).getMetricsAsJSON();
  const admins = {
    source: await startAdmin({ '/v1/pressure': JSON.stringify({ name: 'source', up: true }), '/metrics?format=json': '[]' }),
    enrichment: await startAdmin({ '/v1/pressure': JSON.stringify({ name: 'my-enrichment', up: true }), '/metrics?format=json': JSON.stringify([{ name: 'x', values: 'not an array' }]) }),
    join: await startAdmin({ '/v1/pressure': JSON.stringify({ name: 'join', up: true, pad: 'x'.repeat(5 * 1024 * 1024) }), '/metrics?format=json': 'null' }),
    sink: await startAdmin({ '/v1/pressure': JSON.stringify({ name: 'sink', up: true }), '/metrics?format=json': JSON.stringify(sinkMetrics) }),
  };
  t.after(() => { for (const admin of Object.values(admins)) admin.server.close(); });
  const addresses = Object.fromEntries(stageNames.map((stage) => [stage, admins[stage].address])) as Record<StageName, string>;
  const mesh = new MeshPressure(own, registry, new EdgeTraffic(registry, own), own.faults, addresses);

  const hops = new Map((await mesh.report()).hops.map((hop) => [hop.name, hop]));
  assert.equal(hops.get('source')?.up, true);
  assert.equal(hops.get('sink')?.up, true);
  assert.equal(hops.get('enrichment')?.up, false, 'a report that names another stage is not taken for enrichment');
  assert.match((hops.get('enrichment') as { error: string }).error, /not a report of enrichment/);
  assert.equal(hops.get('join')?.up, false, 'a 5 MB report is not read');
  assert.match((hops.get('join') as { error: string }).error, /larger than/);

  assert.equal((await mesh.report()).bottleneck, null, 'nothing is back-pressured');

  const text = await mesh.metricsText();
  assert.match(text, /mesh_stage_events_in_total\{[^}]*stage="sink"/, "the sink's figures are merged");
  assert.match(text, /stage="gateway"/, "and the gateway's own");
});

test('the gateway reads every replica of a stage, listed or behind a name that resolves to several, and names each by its replica', async (t) => {
  const own = new HopPressure('gateway', new FaultSwitches(false));
  t.after(() => own.stop());
  const registry = createMetricsRegistry(own);
  const report = (name: string, replica?: string) => JSON.stringify({ name, up: true, ...(replica ? { replica } : {}), busy_ms_per_second: 0, backpressured_ms_per_second: 0, idle_ms_per_second: 1000 });
  const sources = [await startAdmin({ '/v1/pressure': report('source', 'source-a') }), await startAdmin({ '/v1/pressure': report('source', 'source-b') })];
  const enrichment = await startAdmin({ '/v1/pressure': report('enrichment') });
  const join = await startAdmin({ '/v1/pressure': report('join', 'join-1') });
  const sink = await startAdmin({ '/v1/pressure': report('sink', 'sink-1') });
  const servers = [...sources, enrichment, join, sink];
  t.after(() => { for (const admin of servers) admin.server.close(); });
  const port = (address: string) => address.split(':')[1];
  // Two loopback addresses behind one name, as a headless Service has one per pod; the second has no admin API.
  const resolveName = async (host: string) => (host === 'join-replicas' ? ['127.0.0.1', '127.0.0.2'] : Promise.reject(new Error(`no such host ${host}`)));
  const mesh = new MeshPressure(own, registry, new EdgeTraffic(registry, own), own.faults, {
    source: `${sources[0]!.address},${sources[1]!.address}`, enrichment: enrichment.address, join: `join-replicas:${port(join.address)}`, sink: `${sink.address},nowhere:1`,
  }, resolveName);
  const hops = (await mesh.report()).hops.map((hop) => ({ name: hop.name, replica: hop.replica, up: hop.up }));
  assert.deepEqual(hops, [
    { name: 'gateway', replica: 'gateway', up: true },
    { name: 'source', replica: 'source-a', up: true },
    { name: 'source', replica: 'source-b', up: true },
    { name: 'enrichment', replica: enrichment.address, up: true },
    { name: 'join', replica: 'join-1', up: true },
    { name: 'join', replica: `127.0.0.2:${port(join.address)}`, up: false },
    { name: 'sink', replica: 'sink-1', up: true },
    { name: 'sink', replica: 'nowhere:1', up: false },
  ]);
});

test('a 429\'s wait for the intake comes from the source\'s own estimate: its unread entries over its window, at the rate it measures the intake drain', async (t) => {
  const own = new HopPressure('gateway', new FaultSwitches(false));
  t.after(() => own.stop());
  const registry = createMetricsRegistry(own);
  const intake = { length: 900, capacity: 20_000, lag: 700, pending: 200, window: 500, drain_per_second: 1_000, estimated_drain_ms: 700 };
  const stalled = { ...intake, drain_per_second: 0, estimated_drain_ms: null };
  const reports = [intake, stalled].map((figures) => ({ '/v1/pressure': JSON.stringify({ name: 'source', up: true, links: [], breakers: [], intake: figures }), '/metrics?format=json': '[]' }));
  const admins = await Promise.all(reports.map((routes) => startAdmin(routes)));
  const others = await startAdmin({ '/v1/pressure': JSON.stringify({ name: 'x', up: true }) });
  t.after(() => { for (const admin of [...admins, others]) admin.server.close(); });
  const edge = new EdgeTraffic(registry, own);
  const meshWith = (source: string) => new MeshPressure(own, registry, edge, own.faults, { source, enrichment: others.address, join: others.address, sink: others.address });

  const draining = meshWith(admins[0]!.address);
  assert.equal(draining.intakeRoomSeconds(250), undefined, 'no estimate before a report');
  await draining.report();
  assert.equal(draining.intakeRoomSeconds(250), 0.45, '700 unread + 250 over a window of 500, at 1000/s');
  assert.equal(draining.intakeRoomSeconds(0), 0.2);
  const stalling = meshWith(admins[1]!.address);
  await stalling.report();
  assert.equal(stalling.intakeRoomSeconds(250), undefined, 'a stalled intake promises nothing');
});
