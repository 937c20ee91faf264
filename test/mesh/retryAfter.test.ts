import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMeshUnderTest } from '../helpers/meshHarness.js';
import { postEvents, wireEvents } from '../helpers/httpEvents.js';

test('the edge tells the truth: a client refused with 429 that waits its Retry-After is admitted', { timeout: 120_000 }, async (t) => {
  // A slow sink (about 400 events/s), a small intake and small links, so a few clients fill the mesh.
  const run = await startMeshUnderTest({
    env: { INTAKE_MAX_LENGTH: '1000', LINK_CAPACITY: '400' },
    serviceEnv: { sink: { SINK_DELAY_MS: '250', STAGE_CONCURRENCY: '1', MAX_BATCH_EVENTS: '100' } },
  });
  t.after(() => run.dispose());
  const runId = `retry-${randomBytes(3).toString('hex')}`;
  let next = 0;
  const post = () => postEvents(run.mesh.gatewayUrl, JSON.stringify(wireEvents(100, runId, { from: (next += 100) })));
  const results: Array<{ retryAfter: number; admitted: boolean }> = [];
  for (let round = 0; round < 3; round += 1) {
    // Clients fill the mesh until one of them is refused; the others then go quiet, and it waits as told.
    let refusal: Awaited<ReturnType<typeof post>> | undefined;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (!refusal) {
        const answer = await post();
        if (answer.status === 429) refusal ??= answer;
      }
    }));
    const retryAfter = Number(refusal!.retryAfter);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `a Retry-After in whole seconds (${refusal!.retryAfter})`);
    await sleep(retryAfter * 1_000);
    results.push({ retryAfter, admitted: (await post()).status === 202 });
  }
  t.diagnostic(`Retry-After and the answer after waiting it: ${JSON.stringify(results)}`);
  assert.ok(results.every((result) => result.admitted), 'every client that waited its Retry-After was admitted');
});
