import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { MeshPressureReport } from '../../gateway/MeshPressure.js';
import type { HopSnapshot } from '../../lib/telemetry/HopPressure.js';
import { unlimitedCredit } from '../../lib/stage/meshMode.js';
import { startMeshUnderTest } from '../helpers/meshHarness.js';
import { postUntilAccepted, wireEvents } from '../helpers/httpEvents.js';

async function waitForCommitted(pool: import('pg').Pool, count: number, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    if (rows[0]!.n >= count || Date.now() > deadline) return rows[0]!.n;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function hops(gatewayUrl: string): Promise<HopSnapshot[]> {
  const report = await (await fetch(`${gatewayUrl}/v1/pressure`)).json() as MeshPressureReport;
  return report.hops as HopSnapshot[];
}

test('decoupled mode: the stages pass events through a Redis Stream in front of each, with no credit between them, and still commit each event once', { timeout: 90_000 }, async (t) => {
  const run = await startMeshUnderTest({ env: { MESH_MODE: 'decoupled' } });
  t.after(() => run.dispose());
  const runId = `decoupled-${randomBytes(4).toString('hex')}`;
  for (let from = 0; from < 3_000; from += 500) await postUntilAccepted(run.mesh.gatewayUrl, wireEvents(500, runId, { from }));
  assert.equal(await waitForCommitted(run.pool, 3_000), 3_000);
  const { rows } = await run.pool.query<{ counted: number }>('SELECT sum(count)::int AS counted FROM item_minute');
  assert.equal(rows[0]!.counted, 3_000);
  for (const stage of ['enrichment', 'join', 'sink']) assert.equal(await run.redis.exists(`${run.keyPrefix}topic:${stage}`), 1, `the topic in front of ${stage}`);
  const join = (await hops(run.mesh.gatewayUrl)).find((hop) => hop.name === 'join')!;
  assert.deepEqual(join.links.filter((link) => link.direction === 'in').map((link) => [link.link, link.capacity]), [['topic->join', 0]]);
  assert.equal(join.links.find((link) => link.direction === 'out')!.credit_available, unlimitedCredit);
});

test('naive mode: every link grants credit as good as unlimited and the intake has no bound, so nothing is ever refused with 429', { timeout: 90_000 }, async (t) => {
  const run = await startMeshUnderTest({ env: { MESH_MODE: 'naive' } });
  t.after(() => run.dispose());
  const runId = `naive-${randomBytes(4).toString('hex')}`;
  assert.equal(await postUntilAccepted(run.mesh.gatewayUrl, wireEvents(1_000, runId)), 0);
  assert.equal(await waitForCommitted(run.pool, 1_000), 1_000);
  const figures = await hops(run.mesh.gatewayUrl);
  const source = figures.find((hop) => hop.name === 'source')!;
  assert.equal(source.intake!.capacity, unlimitedCredit);
  for (const hop of figures) {
    for (const link of hop.links) assert.equal(link.capacity, unlimitedCredit, `${hop.name} ${link.direction} ${link.link}`);
  }
});

test('MESH_MODE is checked at start-up like every setting', async () => {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const sink = fileURLToPath(new URL('../../services/sink/main.js', import.meta.url));
  const result = spawnSync(process.execPath, [sink], { env: { ...process.env, MESH_MODE: 'kafka' }, encoding: 'utf8', timeout: 10_000 });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /MESH_MODE must be one of flow, naive, decoupled, got "kafka"/);
});
