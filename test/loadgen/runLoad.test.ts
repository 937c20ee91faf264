import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad, type LoadSummary } from '../../bench/loadgen/runLoad.js';
import { eventsAnswered, startFakeGateway, type FakeGateway, type ReceivedRequest } from './fakeGateway.js';

// The machine is small and shared: timings are checked within a few requests, not exactly.
const TOLERANCE = 3;

function requestsBetween(requests: ReceivedRequest[], fromMs: number, toMs: number): number {
  return requests.filter((request) => request.atMs >= fromMs && request.atMs < toMs).length;
}

function assertNear(actual: number, expected: number, what: string) {
  assert.ok(Math.abs(actual - expected) <= TOLERANCE, `${what}: ${actual}, expected ${expected} +- ${TOLERANCE}`);
}

async function withGateway<T>(gateway: FakeGateway, use: (gateway: FakeGateway) => Promise<T>): Promise<T> {
  try {
    return await use(gateway);
  } finally {
    await gateway.close();
  }
}

function assertPerSecondAddsUp(summary: LoadSummary) {
  for (const field of ['sent', 'accepted', 'rejected', 'failed', 'dropped_by_client'] as const) {
    assert.equal(summary.per_second.reduce((total, second) => total + second[field], 0), summary[field], `per_second ${field}`);
  }
  const offered = summary.per_second.reduce((total, second) => total + second.offered, 0);
  assert.equal(offered, summary.sent + summary.dropped_by_client);
}

test('the rate is respected over 2 s: 2000 events/s in batches of 50 is 40 requests/s at the server', async () => {
  await withGateway(await startFakeGateway(), async (gateway) => {
    const summary = await runLoad({ url: gateway.url, rate: 2000, durationS: 2, batch: 50 });
    const first = gateway.requests[0]!.atMs;
    assertNear(gateway.requests.length, 80, 'requests in 2 s');
    assertNear(requestsBetween(gateway.requests, first, first + 1000), 40, 'requests in the first second');
    assertNear(requestsBetween(gateway.requests, first + 1000, first + 2000), 40, 'requests in the second second');
    assert.equal(summary.sent, gateway.requests.length * 50);
    assert.equal(summary.accepted, summary.sent);
    assert.ok(Math.abs(summary.offered_rate - 2000) < 100, `offered_rate ${summary.offered_rate}`);
    assert.deepEqual([summary.rejected, summary.failed, summary.dropped_by_client], [0, 0, 0]);
    assertPerSecondAddsUp(summary);
  });
});

test('the burst changes the rate: 1000 events/s, 5000 from 0.5 s for 0.5 s', async () => {
  await withGateway(await startFakeGateway(), async (gateway) => {
    const summary = await runLoad({ url: gateway.url, rate: 1000, durationS: 1.5, batch: 50, burst: { rate: 5000, startS: 0.5, lengthS: 0.5 } });
    const first = gateway.requests[0]!.atMs;
    assertNear(requestsBetween(gateway.requests, first, first + 500), 10, 'requests before the burst');
    assertNear(requestsBetween(gateway.requests, first + 500, first + 1000), 50, 'requests in the burst');
    assertNear(requestsBetween(gateway.requests, first + 1000, first + 1500), 10, 'requests after the burst');
    assertNear(summary.per_second[0]!.offered / 50, 60, 'batches offered in second 0');
    assertNear(summary.per_second[1]!.offered / 50, 10, 'batches offered in second 1');
  });
});

test('the summary counts exactly what the server answered, and the ids file holds exactly the accepted events', async () => {
  const gateway = await startFakeGateway((index, ids) => {
    if (index === 3) return { status: 400, body: { error: 'invalid events', errors: [{ index: 0, reason: 'kind' }] } };
    if (index % 3 === 1) return { status: 429, headers: { 'retry-after': '1' }, body: { error: 'no credit' } };
    return { status: 202, body: { accepted: ids.length }, delayMs: 20 };
  });
  await withGateway(gateway, async () => {
    const idsFile = join(await mkdtemp(join(tmpdir(), 'loadgen-')), 'ids.txt');
    const summary = await runLoad({ url: gateway.url, rate: 4000, durationS: 0.5, batch: 20, idsFile });
    const accepted = eventsAnswered(gateway, 202);
    assert.equal(summary.sent, gateway.requests.length * 20);
    assert.equal(summary.accepted, accepted.length);
    assert.equal(summary.rejected, eventsAnswered(gateway, 429).length);
    assert.equal(summary.failed, 20);
    assert.equal(summary.failures['HTTP 400']?.events, 20);
    assert.match(summary.failures['HTTP 400']!.example, /invalid events/);
    assert.equal(summary.accepted + summary.rejected + summary.failed, summary.sent);
    assertPerSecondAddsUp(summary);
    assert.ok(summary.p50_ms !== null && summary.p50_ms >= 20 && summary.p50_ms < 200, `p50 ${summary.p50_ms}`);
    const written = (await readFile(idsFile, 'utf8')).trim().split('\n');
    assert.deepEqual([...written].sort(), [...accepted].sort());
    assert.equal(new Set(written).size, written.length);
    assert.match(written[0]!, new RegExp(`^lg-${summary.run_id}-\\d+$`));
  });
});

test('beyond the concurrency limit batches are dropped by the client, not queued', async () => {
  await withGateway(await startFakeGateway((_index, ids) => ({ status: 202, body: { accepted: ids.length }, delayMs: 300 })), async (gateway) => {
    const summary = await runLoad({ url: gateway.url, rate: 1000, durationS: 0.5, batch: 10, concurrency: 2 });
    assert.ok(gateway.mostConcurrent <= 2, `the server held ${gateway.mostConcurrent} requests at once`);
    assert.equal(summary.sent, gateway.requests.length * 10);
    assert.ok(summary.dropped_by_client >= 400, `dropped ${summary.dropped_by_client}`);
    assertNear((summary.sent + summary.dropped_by_client) / 10, 50, 'batches offered');
    assert.equal(summary.accepted, summary.sent);
  });
});

test('with --retry-429 a rejected batch is sent again after its Retry-After', async () => {
  const seen = new Set<string>();
  const gateway = await startFakeGateway((_index, ids) => {
    const firstTime = !seen.has(ids[0]!);
    seen.add(ids[0]!);
    return firstTime ? { status: 429, headers: { 'retry-after': '0' }, body: { error: 'no credit' } } : { status: 202, body: { accepted: ids.length } };
  });
  await withGateway(gateway, async () => {
    const summary = await runLoad({ url: gateway.url, rate: 200, durationS: 0.5, batch: 20, retry429: 1 });
    assert.equal(summary.sent, 100);
    assert.deepEqual([summary.accepted, summary.rejected, summary.retried], [100, 0, 100]);
    assert.equal(gateway.requests.length, 10);
  });
});

test('stopping through the signal ends sending early and still awaits the requests in flight', async () => {
  await withGateway(await startFakeGateway((_index, ids) => ({ status: 202, body: { accepted: ids.length }, delayMs: 100 })), async (gateway) => {
    const summary = await runLoad({ url: gateway.url, rate: 1000, durationS: 30, batch: 50, signal: AbortSignal.timeout(300) });
    assert.equal(summary.stopped_early, true);
    assert.ok(summary.duration_s < 1, `ran ${summary.duration_s} s`);
    assert.equal(summary.accepted, gateway.requests.length * 50);
    assert.equal(summary.accepted, summary.sent);
  });
});
