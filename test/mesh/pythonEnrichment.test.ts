import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { profileKey } from '../../lib/storage/redis.js';
import { profileOf } from '../../tools/seed.js';
import { debianPython } from '../helpers/debianPython.js';
import { postUntilAccepted, wireEvents } from '../helpers/httpEvents.js';
import { startMeshUnderTest } from '../helpers/meshHarness.js';

test('one stage replaced by a command: the Python enrichment of examples/, generated from proto/ at start, carries the mesh end to end', { timeout: 60_000 }, async (t) => {
  // The .py runs from the source tree: the launcher runs a command in the project root.
  const run = await startMeshUnderTest({ replace: { enrichment: { command: debianPython, args: ['examples/python-enrichment/enrichment.py'] } } });
  t.after(() => run.dispose());
  const commandLine = readFileSync(`/proc/${run.mesh.services.enrichment.pid}/cmdline`, 'utf8').split('\0');
  assert.deepEqual(commandLine.slice(0, 2), [debianPython, 'examples/python-enrichment/enrichment.py'], 'the enrichment running is the Python one');
  await run.redis.set(profileKey(run.keyPrefix, 'user-unparsable'), '{not json');

  const runId = `python-${randomBytes(4).toString('hex')}`;
  const total = 2_000;
  for (let from = 0; from < total; from += 500) await postUntilAccepted(run.mesh.gatewayUrl, wireEvents(500, runId, { from }));
  const poison = wireEvents(10, `${runId}-poison`).map((event) => ({ ...event, user_id: 'user-unparsable' }));
  await postUntilAccepted(run.mesh.gatewayUrl, poison);

  const deadline = Date.now() + 30_000;
  let counts = { n: 0, with_profile: 0, dead: 0 };
  for (;;) {
    const { rows } = await run.pool.query<typeof counts>(
      `SELECT (SELECT count(*)::int FROM events WHERE id LIKE $1) AS n,
              (SELECT count(*)::int FROM events WHERE id LIKE $1 AND profile_found AND NOT profile_degraded) AS with_profile,
              (SELECT count(*)::int FROM dead_letters WHERE event_id LIKE $2) AS dead`,
      [`${runId}-%`, `${runId}-poison-%`],
    );
    counts = rows[0]!;
    if ((counts.n >= total && counts.dead >= poison.length) || Date.now() > deadline) break;
    await sleep(200);
  }
  // The poison events' ids share the run's prefix but are never rows of events: they are dead letters.
  assert.deepEqual(counts, { n: total, with_profile: total, dead: poison.length }, 'every event committed once with its profile; the unparsable profile\'s events dead letters');

  const { rows: profiles } = await run.pool.query<{ user_id: string; user_segment: string; user_country: string }>(
    'SELECT DISTINCT user_id, user_segment, user_country FROM events WHERE id LIKE $1', [`${runId}-%`],
  );
  assert.equal(profiles.length, 200, 'one segment and country per user');
  for (const row of profiles) {
    const expected = profileOf(Number(row.user_id.slice('user-'.length)));
    assert.deepEqual({ segment: row.user_segment, country: row.user_country }, expected, `the profile of ${row.user_id} as stored in Redis`);
  }
  const { rows: reasons } = await run.pool.query<{ stage: string; reason: string }>(
    'SELECT DISTINCT stage, reason FROM dead_letters WHERE event_id LIKE $1', [`${runId}-poison-%`],
  );
  assert.deepEqual(reasons, [{ stage: 'enrichment', reason: 'the stored profile is not JSON (user user-unparsable)' }]);
});
