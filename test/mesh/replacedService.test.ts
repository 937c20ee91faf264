import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { runConformance } from '../../conformance/runConformance.js';
import { startMeshUnderTest } from '../helpers/meshHarness.js';
import { postUntilAccepted, wireEvents } from '../helpers/httpEvents.js';

test('one service replaced: the plain enrichment of examples/, written against the proto alone, passes the conformance kit and carries the mesh end to end', { timeout: 120_000 }, async (t) => {
  const run = await startMeshUnderTest({ replace: { enrichment: 'examples/plain-enrichment/main.js' }, env: { LINK_CAPACITY: '1000' } });
  t.after(() => run.dispose());

  const results = await runConformance(run.mesh.address('enrichment'));
  for (const result of results.filter((r) => !r.pass)) t.diagnostic(`FAIL rule ${result.rule}: ${result.title} (${result.seen})`);
  assert.deepEqual(results.filter((result) => !result.pass).map((result) => `rule ${result.rule}: ${result.title}`), []);
  assert.ok(results.length >= 13);

  const runId = `replaced-${randomBytes(4).toString('hex')}`;
  for (let from = 0; from < 5_000; from += 500) await postUntilAccepted(run.mesh.gatewayUrl, wireEvents(500, runId, { from }));
  const deadline = Date.now() + 30_000;
  let rows: Array<{ n: number; with_profile: number }> = [];
  while (Date.now() < deadline) {
    ({ rows } = await run.pool.query<{ n: number; with_profile: number }>(
      "SELECT count(*)::int AS n, count(*) FILTER (WHERE profile_found)::int AS with_profile FROM events WHERE id LIKE $1", [`${runId}-%`],
    ));
    if (rows[0]!.n >= 5_000) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.deepEqual(rows[0], { n: 5_000, with_profile: 5_000 }, 'every event committed once, each with the profile the replacement looked up');
});
