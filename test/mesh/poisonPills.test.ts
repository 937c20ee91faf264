import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { profileKey } from '../../lib/storage/redis.js';
import { intakeEntryFields } from '../../services/source/intakeEntry.js';
import { startMeshUnderTest } from '../helpers/meshHarness.js';
import { postUntilAccepted, wireEvents } from '../helpers/httpEvents.js';

test('poison pills: an event that fails in any stage goes to dead_letters with the stage and the reason, and nothing else is held back', { timeout: 90_000 }, async (t) => {
  const run = await startMeshUnderTest({ env: { MAX_BATCH_EVENTS: '50' } });
  t.after(() => run.dispose());
  const runId = `pp-${randomBytes(3).toString('hex')}`;
  const intake = `${run.keyPrefix}intake`;

  // enrichment: a user whose stored profile is not JSON.
  await run.redis.set(profileKey(run.keyPrefix, 'user-poison'), '{not json');
  // source: an intake entry that is not an event at all.
  await run.redis.xadd(intake, '*', 'n', '1', 'b', 'garbage that is not a batch of events');
  // A value the contract's rules refuse (a NUL character), written straight into the intake as a producer bug could: the first stage that depends on it refuses it.
  const [nul] = wireEvents(1, `${runId}-nul`);
  await run.redis.xadd(intake, '*', ...intakeEntryFields([{ id: nul!.id, userId: 'user-\u0000-1', itemId: 'item-1', kind: 'view', eventTimeMs: Date.now(), priceCents: 1 }], {}));

  const events = wireEvents(300, runId);
  events[17] = { ...events[17]!, user_id: 'user-poison' };
  for (let from = 0; from < events.length; from += 100) await postUntilAccepted(run.mesh.gatewayUrl, events.slice(from, from + 100));

  const expectGood = events.length - 1;
  const deadline = Date.now() + 30_000;
  let committed = 0;
  let dead = 0;
  while (Date.now() < deadline) {
    committed = Number((await run.pool.query('SELECT count(*) FROM events')).rows[0].count);
    dead = Number((await run.pool.query('SELECT count(*) FROM dead_letters')).rows[0].count);
    if (committed === expectGood && dead === 3 && (await run.redis.xlen(intake)) === 0) break;
    await sleep(200);
  }
  assert.equal(committed, expectGood, 'every good event arrives');
  const rows = (await run.pool.query('SELECT event_id, stage, reason FROM dead_letters ORDER BY stage, reason')).rows;
  t.diagnostic(JSON.stringify(rows));
  assert.equal(rows.length, 3);
  assert.deepEqual(rows.map((row) => row.stage), ['enrichment', 'enrichment', 'source']);
  assert.equal(rows[0].event_id, nul!.id);
  assert.match(rows[0].reason, /invalid user_id: contains control characters/);
  assert.equal(rows[1].event_id, events[17]!.id);
  assert.match(rows[1].reason, /not JSON \(user user-poison\)/);
  assert.match(rows[2].event_id, /^intake:\d+-\d+\/0$/);
  assert.match(rows[2].reason, /intake entry is not a valid event/);
  assert.equal(await run.redis.xlen(intake), 0, 'nothing is stuck in the intake');
});
