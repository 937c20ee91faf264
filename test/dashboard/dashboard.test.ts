import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { startMeshUnderTest } from '../helpers/meshHarness.js';
import { sustainedLoad } from '../helpers/sustainedLoad.js';

const chromiumPath = '/usr/bin/chromium';
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const hops = ['gateway', 'source', 'enrichment', 'join', 'sink'];
const noFaults = { slow_sink_ms: 0, redis_latency_ms: 0, postgres_failure_percent: 0 };

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

test('the dashboard shows the five hops and the hop upstream of a slowed sink turning back-pressured', { timeout: 120_000 }, async (t) => {
  assert.ok(existsSync(chromiumPath), `this test drives Debian's Chromium at ${chromiumPath}, which is missing: install it with "apt-get install chromium"`);
  // Small links and intake, so the slowed sink backs the mesh up within seconds.
  const run = await startMeshUnderTest({ env: { FAULT_SWITCHES: 'on', LINK_CAPACITY: '400', MAX_BATCH_EVENTS: '100', INTAKE_MAX_LENGTH: '2000' } });
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
    await boxes.first().waitFor();
    assert.equal(await boxes.count(), hops.length, 'one box per hop');
    const lefts: number[] = [];
    for (const [i, hop] of hops.entries()) {
      const box = boxes.nth(i);
      assert.equal(await box.getAttribute('data-hop'), hop, `hop ${i + 1} is ${hop}`);
      assert.ok(await box.isVisible(), `${hop} is visible`);
      lefts.push((await box.boundingBox())!.x);
    }
    assert.ok(lefts.every((left, i) => i === 0 || left > lefts[i - 1]!), `the hops are drawn left to right (${lefts.join(', ')})`);

    const join = page.locator('[data-hop="join"]');
    const joinPressure = () => join.getAttribute('data-pressure');
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 15_000 });
    const before = await waitFor('join shown as up', 15_000, joinPressure, (pressure) => pressure !== null && pressure !== 'down');
    t.diagnostic(`join under load, before the sink is slowed: ${before}`);
    assert.match((await page.locator('[data-hop="source"] .intake').textContent()) ?? '', /^[\d,]+ \/ [\d,]+$/, 'the source shows its intake length / capacity');

    await page.fill('#fault-slow-sink-ms', '1000');
    await page.check('#fault-slow-sink');
    const slowed = await waitFor('join shown as back-pressured once the sink is slow', 30_000, joinPressure, (pressure) => pressure === 'backpressured');
    assert.equal(slowed, 'backpressured');
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
