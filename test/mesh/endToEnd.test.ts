import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { profileKey } from '../../lib/storage/redis.js';
import { startMeshUnderTest } from '../helpers/meshHarness.js';
import { postUntilAccepted, wireEvents } from '../helpers/httpEvents.js';

const total = 100_000;
const perRequest = 1_000;
const clients = 8;

test('end to end: 100,000 events through the gateway land exactly once, enriched and joined, with item_minute matching', { timeout: 300_000 }, async (t) => {
  const users = 200;
  const products = 100;
  const run = await startMeshUnderTest({ users, products });
  t.after(() => run.dispose());
  const runId = `e2e-${randomBytes(4).toString('hex')}`;

  let next = 0;
  let rejected = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < total) {
      const from = next;
      next += perRequest;
      rejected += await postUntilAccepted(run.mesh.gatewayUrl, wireEvents(perRequest, runId, { users, products, from }));
    }
  }));

  const deadline = Date.now() + 120_000;
  let committed = 0;
  while (Date.now() < deadline) {
    committed = Number((await run.pool.query('SELECT count(*) FROM events')).rows[0].count);
    if (committed >= total) break;
    await sleep(250);
  }
  t.diagnostic(`${total} events accepted (${rejected} requests answered 429/503 and retried); ${committed} committed`);
  assert.equal(committed, total, 'every accepted event is in events');

  const ids = Array.from({ length: total }, (_, i) => `${runId}-${i}`);
  const present = await run.pool.query('SELECT count(*) FROM events WHERE id = ANY($1)', [ids]);
  assert.equal(Number(present.rows[0].count), total, 'exactly the events sent, each once');

  const profiles = new Map<string, { segment: string; country: string }>();
  const stored = await run.redis.mget(Array.from({ length: users }, (_, i) => profileKey(run.keyPrefix, `user-${i + 1}`)));
  stored.forEach((value, i) => profiles.set(`user-${i + 1}`, JSON.parse(value!)));
  const byUser = await run.pool.query<{ user_id: string; user_segment: string; user_country: string; profile_found: boolean }>(
    'SELECT DISTINCT user_id, user_segment, user_country, profile_found FROM events',
  );
  assert.equal(byUser.rows.length, users, 'one profile per user, the same on every event');
  for (const row of byUser.rows) {
    assert.equal(row.profile_found, true);
    assert.deepEqual({ segment: row.user_segment, country: row.user_country }, profiles.get(row.user_id));
  }

  const joined = await run.pool.query(`SELECT count(*) FROM events e JOIN products p ON p.id = e.item_id
    WHERE e.product_name = p.name AND e.product_category = p.category AND e.list_price_cents = p.price_cents`);
  assert.equal(Number(joined.rows[0].count), total, 'every event carries its product from Postgres');

  const mismatched = await run.pool.query(`
    (SELECT item_id, date_trunc('minute', event_time, 'UTC') AS minute, count(*) FROM events GROUP BY 1, 2
     EXCEPT SELECT item_id, minute, count FROM item_minute)
    UNION ALL
    (SELECT item_id, minute, count FROM item_minute
     EXCEPT SELECT item_id, date_trunc('minute', event_time, 'UTC'), count(*) FROM events GROUP BY 1, 2)`);
  assert.deepEqual(mismatched.rows, [], 'item_minute equals the counts derived from events');
  assert.equal(Number((await run.pool.query('SELECT count(*) FROM dead_letters')).rows[0].count), 0);
  assert.equal(await run.redis.xlen(`${run.keyPrefix}intake`), 0, 'the intake is empty once everything is committed');
});
