import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runConformance } from '../../conformance/runConformance.js';
import { startMeshUnderTest } from '../helpers/meshHarness.js';

test('the conformance kit passes against the running enrichment, join and sink services', { timeout: 180_000 }, async (t) => {
  const run = await startMeshUnderTest({ env: { LINK_CAPACITY: '1000' } });
  t.after(() => run.dispose());
  for (const service of ['enrichment', 'join', 'sink'] as const) {
    const results = await runConformance(run.mesh.address(service));
    for (const result of results.filter((r) => !r.pass)) t.diagnostic(`${service}: FAIL rule ${result.rule}: ${result.title} (${result.seen})`);
    assert.deepEqual(results.filter((result) => !result.pass).map((result) => `rule ${result.rule}: ${result.title}`), [], service);
    assert.ok(results.length >= 13);
  }
  // The kit's events are not the mesh's users and products: the sink dead-letters them, none become results.
  const written = await run.pool.query("SELECT count(*) FROM events WHERE id LIKE 'conformance-%'");
  assert.equal(Number(written.rows[0].count), 0);
});
