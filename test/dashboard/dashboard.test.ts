import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { startMeshUnderTest } from '../helpers/meshHarness.js';
import { sustainedLoad } from '../helpers/sustainedLoad.js';

const chromiumPath = '/usr/bin/chromium';
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const stages = ['gateway', 'source', 'enrichment', 'join', 'sink'];
/** The cards the page shows: two replicas of enrichment, and beside the real join another program serving a join's admin API. */
const cards = ['gateway', 'source', 'enrichment', 'enrichment', 'join', 'join', 'sink'];
const noFaults = { slow_sink_ms: 0, slow_sink_us_per_event: 0, redis_latency_ms: 0, postgres_failure_percent: 0 };

/** Reads until `done` holds, or fails saying what was last read. */
async function waitFor<T>(what: string, timeoutMs: number, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms; last seen ${JSON.stringify(value)}`);
    await sleep(250);
  }
}

/** An admin API as another program serving it might: a join's report with only the figures it has. */
async function otherProgramsAdmin(): Promise<{ server: Server; address: string }> {
  const report = { name: 'join', replica: 'join-other-program', up: true, busy_ms_per_second: 20, backpressured_ms_per_second: 0, idle_ms_per_second: 980 };
  const server = createServer((request, response) => {
    // Its fault switches take what they are given (they switch nothing in a program that has none).
    const body = request.url === '/v1/pressure' ? report : request.url === '/v1/faults' ? { ...noFaults, enabled: true } : undefined;
    response.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body ?? { error: 'no such route' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('the dashboard shows every replica of every hop, the hop upstream of a slowed sink turning back-pressured and the sink named the bottleneck', { timeout: 120_000 }, async (t) => {
  assert.ok(existsSync(chromiumPath), `this test drives Debian's Chromium at ${chromiumPath}, which is missing: install it with "apt-get install chromium"`);
  const other = await otherProgramsAdmin();
  t.after(() => other.server.close());
  const joinAdminPort = await freePort();
  // Small links and intake, so the slowed sink backs the mesh up within seconds.
  const run = await startMeshUnderTest({
    env: { FAULT_SWITCHES: 'on', LINK_CAPACITY: '400', MAX_BATCH_EVENTS: '100', INTAKE_MAX_LENGTH: '2000' },
    replicas: { enrichment: 2 },
    adminPorts: { join: joinAdminPort },
    serviceEnv: { gateway: { JOIN_ADMIN_ADDR: `127.0.0.1:${joinAdminPort},${other.address}` } },
  });
  const gatewayUrl = run.mesh.gatewayUrl;
  const faultsNow = async () => ((await (await fetch(`${gatewayUrl}/v1/pressure`)).json()) as { faults: typeof noFaults }).faults;
  const load = sustainedLoad(gatewayUrl, `dashboard-${randomBytes(4).toString('hex')}`, { clients: 4, batch: 200 });
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${gatewayUrl}/`);

    const boxes = page.locator('[data-hop]');
    await waitFor('a card for every replica', 15_000, () => boxes.count(), (count) => count === cards.length);
    for (const [i, hop] of cards.entries()) {
      const box = boxes.nth(i);
      assert.equal(await box.getAttribute('data-hop'), hop, `card ${i + 1} is ${hop}`);
      assert.ok(await box.isVisible(), `${hop} is visible`);
    }
    const enrichmentReplicas = [await boxes.nth(2).getAttribute('data-replica'), await boxes.nth(3).getAttribute('data-replica')];
    assert.equal(new Set(enrichmentReplicas).size, 2, `two enrichment replicas, each by its name (${enrichmentReplicas.join(', ')})`);
    const other = page.locator('[data-hop="join"][data-replica="join-other-program"]');
    assert.ok(await other.isVisible(), "the other program's join is shown beside the real one");
    assert.notEqual(await other.getAttribute('data-pressure'), 'down');
    const lefts: number[] = [];
    for (const stage of stages) lefts.push((await page.locator(`li.stage[data-stage="${stage}"]`).boundingBox())!.x);
    assert.ok(lefts.every((left, i) => i === 0 || left > lefts[i - 1]!), `the stages are drawn left to right (${lefts.join(', ')})`);

    const join = page.locator('[data-hop="join"]:not([data-replica="join-other-program"])');
    const joinPressure = () => join.getAttribute('data-pressure');
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 15_000 });
    const before = await waitFor('join shown as up', 15_000, joinPressure, (pressure) => pressure !== null && pressure !== 'down');
    t.diagnostic(`join under load, before the sink is slowed: ${before}`);
    assert.match((await page.locator('[data-hop="source"] .intake').textContent()) ?? '', /^[\d,]+ \/ [\d,]+$/, 'the source shows its intake length / capacity');
    assert.match((await page.locator('[data-hop="source"] .drain[data-queue="intake"]').textContent()) ?? '', /^window [\d,]+ · [\d,.–]+\/s · /, "the intake's window, drain rate and time to drain");
    assert.match((await page.locator('[data-hop="sink"] .drain[data-queue="join->sink"]').textContent()) ?? '', /^window [\d,]+ · /, "the sink's link in: its window, drain rate and time to drain");
    assert.match((await page.locator('[data-hop="sink"] .event-lag').textContent()) ?? '', /^[\d,.]+ m?s$/, "the sink's event-time lag");
    assert.deepEqual(await page.locator('#edge-flows tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-flow'))), ['class:purchase', 'class:cart', 'class:click', 'class:view', 'key:anonymous'], 'a row per priority class and per key');
    assert.match((await page.locator('[data-flow="key:anonymous"] td').first().textContent()) ?? '', /^[\d,.]+$/, 'what the key offers, in events/s');

    await page.fill('#fault-slow-sink-ms', '1000');
    await page.check('#fault-slow-sink');
    const slowed = await waitFor('join shown as back-pressured once the sink is slow', 30_000, joinPressure, (pressure) => pressure === 'backpressured');
    assert.equal(slowed, 'backpressured');
    await page.locator('#bottleneck[data-stage="sink"][data-reason="commit-slow"]').waitFor({ timeout: 15_000 });
    assert.match((await page.locator('#bottleneck').textContent()) ?? '', /bottleneck: sink \(replica .+\) — committing is slow/);
    assert.equal(await page.locator('[data-hop="sink"]').getAttribute('data-bottleneck'), 'true', "the sink's card is marked");
    assert.equal((await faultsNow()).slow_sink_ms, 1000, 'the page set the slow sink on the services');
    assert.equal(await page.locator('#faults-message').textContent(), '', 'no error next to the fault switches');
    await mkdir(path.join(repoRoot, 'test-output'), { recursive: true });
    await page.screenshot({ path: path.join(repoRoot, 'test-output', 'dashboard.png'), fullPage: true });

    await page.uncheck('#fault-slow-sink');
    await waitFor('the slow sink switched off through the page', 10_000, faultsNow, (faults) => faults.slow_sink_ms === 0);
    assert.deepEqual(pageErrors, [], 'the page threw no errors');
  } finally {
    // Should the test fail with the sink still slowed, the load's clients would wait a long time for room.
    await fetch(`${gatewayUrl}/v1/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(noFaults) }).catch(() => undefined);
    await load.stop();
    await browser?.close();
    await run.dispose();
  }
});
